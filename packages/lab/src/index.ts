// The lab package is being built (issue 11): the registry, simulate-and-judge and replay commands move here from packages/cli.
export {};
