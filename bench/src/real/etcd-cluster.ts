// The etcd cluster the real bench measures Concord against lives in lab, beside the load driver, so that
// `concord test --algo etcd` runs the same members under a nemesis; the bench names it from here.
export { EtcdCluster, etcdVersion, findOnPath, type EtcdClusterSetup } from "@concord/lab";
