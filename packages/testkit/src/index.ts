// The test kit is being built (issue 11): an in-memory TestCluster for any algorithm and one run judge.
export {};
