// etcd behind the load driver's LoadTarget lives in lab, beside the driver, so that `concord test --algo etcd`
// drives etcd with the same client; the bench names it from here.
export { EtcdTarget, type EtcdTargetSetup } from "@concord/lab";
