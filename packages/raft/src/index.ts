// @concord/raft: see package.json's description. Exports are added as the package is built.
