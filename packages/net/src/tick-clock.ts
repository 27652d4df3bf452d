/**
 * TickClock turns a monotonic real-time clock into the count of logical ticks
 * a replica is owed. The protocols count time in ticks (election timeouts,
 * heartbeats, leases), so a replica must see as many ticks as real time has
 * passed: a process stopped by SIGSTOP, a long GC pause or a stalled VM finds
 * on resume that its timer fires once, not once per missed period, and a
 * timer that counted its own firings would let a paused leader believe its
 * lease is still live after its followers elected another (the simulator's
 * pause delivers the missed ticks on resume for the same reason). The runtime
 * hands the replica `due() - delivered` ticks each time its timer fires.
 *
 * The rate (the `clock` admin order: a clock run fast or slow) applies from
 * the moment it is set; the ticks owed up to then are kept.
 */
export class TickClock {
  /** anchorMs is the real time of the last change of rate, anchorTicks the (fractional) ticks owed by then. */
  private anchorMs: number;
  private anchorTicks = 0;
  private currentRate = 1;

  constructor(
    private readonly tickMs: number,
    private readonly now: () => number,
  ) {
    if (!(tickMs > 0)) throw new RangeError(`tickMs must be positive, got ${tickMs}`);
    this.anchorMs = now();
  }

  /** rate is how many times real time the clock runs. */
  get rate(): number {
    return this.currentRate;
  }

  /** periodMs is the real time between two ticks at the current rate, the timer's period. */
  get periodMs(): number {
    return this.tickMs / this.currentRate;
  }

  /** due is the number of whole ticks owed since the clock started. */
  due(): number {
    return Math.floor(this.exact(this.now()));
  }

  /** setRate runs the clock `rate` times as fast as real time from now on. */
  setRate(rate: number): void {
    if (!(rate > 0)) throw new RangeError(`rate must be positive, got ${rate}`);
    const nowMs = this.now();
    this.anchorTicks = this.exact(nowMs);
    this.anchorMs = nowMs;
    this.currentRate = rate;
  }

  private exact(nowMs: number): number {
    // A monotonic clock never goes back; were one to, no tick is taken back either.
    return this.anchorTicks + (Math.max(0, nowMs - this.anchorMs) * this.currentRate) / this.tickMs;
  }
}
