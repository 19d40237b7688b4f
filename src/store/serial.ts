/**
 * A per-dataset job queue, shared by the engines: one writer at a time per dataset in this process
 * (LevelDB: sequences stay gap-free without locks; PostgreSQL: one transaction per group, and the
 * dataset's row lock orders it against other hub processes), while different datasets' queues
 * run concurrently. Consecutive appends are drained as one
 * group and committed in one synced batch (group commit): concurrent requests share one fsync, and
 * each is acknowledged only after that fsync.
 */
export interface GroupJob<R, T> {
  readonly request: R;
  readonly bytes: number;
  /** jobs that must run alone (sweeps) */
  readonly alone: boolean;
  resolve(value: T): void;
  reject(err: unknown): void;
}

interface ExclusiveJob {
  readonly run: () => Promise<unknown>;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

type Job<R, T> = { group: GroupJob<R, T> } | { exclusive: ExclusiveJob };

export interface GroupLimits {
  readonly maxJobs: number;
  readonly maxBytes: number;
}

export class SerialQueue<R, T> {
  private readonly jobs: Job<R, T>[] = [];
  private running = false;

  constructor(
    private readonly commitGroup: (jobs: GroupJob<R, T>[]) => Promise<void>,
    private readonly limits: GroupLimits,
    private readonly onIdle: () => void,
  ) {}

  get length(): number {
    return this.jobs.length;
  }

  enqueue(request: R, bytes: number, alone: boolean): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.jobs.push({ group: { request, bytes, alone, resolve, reject } });
      this.kick();
    });
  }

  exclusive<V>(run: () => Promise<V>): Promise<V> {
    return new Promise<V>((resolve, reject) => {
      this.jobs.push({ exclusive: { run, resolve: (v) => resolve(v as V), reject } });
      this.kick();
    });
  }

  private kick(): void {
    if (this.running) return;
    this.running = true;
    void this.drain();
  }

  private async drain(): Promise<void> {
    while (this.jobs.length > 0) {
      const first = this.jobs[0]!;
      if ('exclusive' in first) {
        this.jobs.shift();
        try {
          first.exclusive.resolve(await first.exclusive.run());
        } catch (err) {
          first.exclusive.reject(err);
        }
        continue;
      }
      const group = this.takeGroup();
      try {
        await this.commitGroup(group);
      } catch (err) {
        // commitGroup settles its jobs itself; this only guards against a bug leaving them hanging
        for (const j of group) j.reject(err);
      }
    }
    this.running = false;
    this.onIdle();
  }

  private takeGroup(): GroupJob<R, T>[] {
    const group: GroupJob<R, T>[] = [];
    let bytes = 0;
    while (this.jobs.length > 0) {
      const next = this.jobs[0]!;
      if (!('group' in next)) break;
      const job = next.group;
      if (group.length > 0 && (job.alone || group.length >= this.limits.maxJobs)) break;
      if (group.length > 0 && bytes + job.bytes > this.limits.maxBytes) break;
      this.jobs.shift();
      group.push(job);
      bytes += job.bytes;
      if (job.alone) break;
    }
    return group;
  }
}
