export interface CircuitPolicy {
  /** Consecutive failures to one host after which its circuit opens; 0 disables breaking. */
  failureThreshold: number;
  /** While open, one probe delivery is let through per this interval. */
  probeIntervalMs: number;
}

/** A host's circuit as the management page shows it. */
export interface HostCircuitView {
  host: string;
  /** Consecutive failures so far. */
  failures: number;
  /** Paused: deliveries to the host wait for the next probe. */
  open: boolean;
  /** When open: when the next probe may go (epoch ms). */
  nextProbeAt?: number;
  /** A probe delivery is on its way now. */
  probing: boolean;
}

interface HostCircuit {
  failures: number;
  /** When open: the time the next probe may go; 0 while closed. */
  openUntil: number;
  probing: boolean;
}

/**
 * Per-destination circuit breaking: after N consecutive failures to a host, deliveries to it
 * pause and one probe is sent per interval; a success closes the circuit. Hosts are independent,
 * so one dead endpoint does not hold up the others.
 */
export class CircuitBreaker {
  private readonly hosts = new Map<string, HostCircuit>();

  constructor(
    private readonly policy: CircuitPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether a delivery to `host` may be attempted now; when it is the probe, it is marked so. */
  admit(host: string): boolean {
    const circuit = this.hosts.get(host);
    if (circuit === undefined || circuit.openUntil === 0) return true;
    if (circuit.probing || this.now() < circuit.openUntil) return false;
    circuit.probing = true;
    return true;
  }

  /** When a paused host may next be tried (for rescheduling), or 0 when it is not paused. */
  reopensAt(host: string): number {
    return this.hosts.get(host)?.openUntil ?? 0;
  }

  succeeded(host: string): void {
    this.hosts.delete(host);
  }

  /** A failure that says the host is unwell (not a 4xx the host answered on purpose). */
  failed(host: string): void {
    if (this.policy.failureThreshold === 0) return;
    let circuit = this.hosts.get(host);
    if (circuit === undefined) {
      circuit = { failures: 0, openUntil: 0, probing: false };
      this.hosts.set(host, circuit);
    }
    circuit.failures++;
    circuit.probing = false;
    if (circuit.failures >= this.policy.failureThreshold) circuit.openUntil = this.now() + this.policy.probeIntervalMs;
  }

  /** A probe (or any attempt) ended without telling us anything new about the host. */
  released(host: string): void {
    const circuit = this.hosts.get(host);
    if (circuit !== undefined) circuit.probing = false;
  }

  /** Every host with failures since its last success, open ones first. */
  hostsWithFailures(): HostCircuitView[] {
    const views: HostCircuitView[] = [];
    for (const [host, circuit] of this.hosts) {
      const view: HostCircuitView = { host, failures: circuit.failures, open: circuit.openUntil !== 0, probing: circuit.probing };
      if (circuit.openUntil !== 0) view.nextProbeAt = circuit.openUntil;
      views.push(view);
    }
    return views.sort((a, b) => Number(b.open) - Number(a.open) || b.failures - a.failures || a.host.localeCompare(b.host));
  }

  get openCount(): number {
    let open = 0;
    for (const circuit of this.hosts.values()) if (circuit.openUntil !== 0) open++;
    return open;
  }
}
