import { describe, expect, test } from "vitest";
import { z } from "zod";
import { ConfigError, firstClientId, nodeIdSchema, parseConfig, replicaSetSchema } from "@concord/core";

const schema = z
  .object({
    electionTimeoutTicks: z.number().int().min(1),
    name: z.string().default("cluster"),
    network: z.object({ latencyMs: z.number().min(0) }).strict().optional(),
    replicas: replicaSetSchema.optional(),
  })
  .strict();

function configError(input: unknown): ConfigError {
  try {
    parseConfig(schema, input, "raft");
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("parseConfig", () => {
  test("returns the parsed value with defaults applied", () => {
    expect(parseConfig(schema, { electionTimeoutTicks: 10 }, "raft")).toEqual({ electionTimeoutTicks: 10, name: "cluster" });
  });

  test("names the offending field and its value", () => {
    const error = configError({ electionTimeoutTicks: 2.5 });
    expect(error.field).toBe("raft.electionTimeoutTicks");
    expect(error.message).toContain("raft.electionTimeoutTicks");
    expect(error.message).toContain("2.5");
  });

  test("names a nested field by its dotted path", () => {
    const error = configError({ electionTimeoutTicks: 1, network: { latencyMs: -3 } });
    expect(error.field).toBe("raft.network.latencyMs");
    expect(error.message).toContain("-3");
  });

  test("names an array element by its index", () => {
    const error = configError({ electionTimeoutTicks: 1, replicas: [0, 1, -2] });
    expect(error.field).toBe("raft.replicas.2");
    expect(error.message).toContain("-2");
  });

  test("names a missing field without inventing a value", () => {
    const error = configError({});
    expect(error.field).toBe("raft.electionTimeoutTicks");
    expect(error.message).not.toContain("(got");
  });

  test("shows NaN as NaN, not as JSON's null", () => {
    const error = configError({ electionTimeoutTicks: Number.NaN });
    expect(error.field).toBe("raft.electionTimeoutTicks");
    expect(error.message).toContain("NaN");
    expect(error.message).not.toContain("null");
  });

  test("reports a bigint as a ConfigError instead of failing to print it", () => {
    const error = configError({ electionTimeoutTicks: 10n });
    expect(error.field).toBe("raft.electionTimeoutTicks");
    expect(error.message).toContain("10n");
  });

  test("names the whole input when it is not an object at all", () => {
    const error = configError("fast please");
    expect(error.field).toBe("raft");
    expect(error.message).toContain('"fast please"');
  });

  test("names an unknown key of a strict schema", () => {
    const error = configError({ electionTimeoutTicks: 1, electionTimeout: 5 });
    expect(error.field).toBe("raft");
    expect(error.message).toContain("electionTimeout");
  });

  test("leaves the input untouched", () => {
    const input = { electionTimeoutTicks: 10 };
    parseConfig(schema, input, "raft");
    expect(input).toEqual({ electionTimeoutTicks: 10 });
  });
});

describe("nodeIdSchema and replicaSetSchema", () => {
  test("replica ids are non-negative integers below the client id range", () => {
    expect(nodeIdSchema.safeParse(0).success).toBe(true);
    expect(nodeIdSchema.safeParse(firstClientId - 1).success).toBe(true);
    expect(nodeIdSchema.safeParse(firstClientId).success).toBe(false);
    expect(nodeIdSchema.safeParse(-1).success).toBe(false);
    expect(nodeIdSchema.safeParse(1.5).success).toBe(false);
  });

  test("a replica set needs at least one id and no duplicates", () => {
    expect(replicaSetSchema.safeParse([0, 1, 2]).success).toBe(true);
    expect(() => parseConfig(replicaSetSchema, [], "replicas")).toThrow(/at least one replica/);
    expect(() => parseConfig(replicaSetSchema, [0, 1, 1], "replicas")).toThrow(/distinct/);
  });
});
