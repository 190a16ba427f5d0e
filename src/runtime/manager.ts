/**
 * A small controller manager, as controller-runtime's: it starts informers on every replica (warm
 * caches make a failover fast), runs leader-only work while this replica holds the Lease (or always,
 * without leader election), runs periodic tasks, serves /healthz, /readyz and /metrics, and stops
 * everything in order: leader work drained, Lease released, informers and server closed.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { KubeClient } from '../kube/kube-client.js';
import { LeaderElector } from '../kube/leader-election.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';

/** Lease-based leader election settings. */
export interface LeaderElectionSettings {
  /** Namespace of the Lease. */
  namespace: string;
  /** Name of the Lease. */
  name: string;
  /** This replica's identity; default host name plus a random suffix. */
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

/** What the manager runs and where it answers. */
export interface ManagerOptions {
  kube: KubeClient;
  logger: Logger;
  metrics: Metrics;
  /** Lease election; absent runs as the only replica (always leading). */
  leaderElection?: LeaderElectionSettings;
  /** `host:port` of the health and metrics server; absent: none. */
  listen?: { host: string; port: number };
}

/** An informer as the manager sees it. */
export interface ManagedInformer {
  readonly hasSynced: boolean;
  start(): Promise<void>;
  stop(): void;
}

/** Leader-only work: started with a signal that aborts when leadership ends; returns how to stop it. */
export type LeaderWork = (signal: AbortSignal) => () => Promise<void>;

/** Runs informers, leader-only work, periodic tasks and the health server of one replica. */
export class Manager {
  private readonly informers: ManagedInformer[] = [];
  private readonly leaderWork: LeaderWork[] = [];
  private readonly periodic: Array<{ intervalMs: number; task: () => void; leaderOnly: boolean }> = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private stoppers: Array<() => Promise<void>> = [];
  private leading: AbortController | undefined;
  private elector: LeaderElector | undefined;
  private server: Server | undefined;
  private stopping = false;
  /** The health server's URL, once listening. */
  url: string | undefined;

  constructor(private readonly options: ManagerOptions) {}

  /** Start `informer` with the manager (on every replica); /readyz waits for it to sync. */
  addInformer(informer: ManagedInformer): void {
    this.informers.push(informer);
  }

  /** Run `work` while this replica leads. */
  whenLeading(work: LeaderWork): void {
    this.leaderWork.push(work);
  }

  /** Run `task` every `intervalMs` (only while leading when `leaderOnly`). */
  every(intervalMs: number, task: () => void, leaderOnly = false): void {
    this.periodic.push({ intervalMs, task, leaderOnly });
  }

  /** True while this replica holds the Lease (always, without leader election). */
  isLeader(): boolean {
    return this.leading !== undefined && !this.leading.signal.aborted;
  }

  /** Start informers (resolves once they have listed), periodic tasks, election and server. */
  async start(): Promise<void> {
    const { logger } = this.options;
    await Promise.all(this.informers.map((informer) => informer.start()));
    for (const { intervalMs, task, leaderOnly } of this.periodic) {
      const timer = setInterval(() => {
        if (!leaderOnly || this.isLeader()) task();
      }, intervalMs);
      timer.unref();
      this.timers.push(timer);
    }
    const election = this.options.leaderElection;
    if (election) {
      this.elector = new LeaderElector({
        kube: this.options.kube,
        namespace: election.namespace,
        name: election.name,
        identity: election.identity ?? `${hostname()}_${randomBytes(4).toString('hex')}`,
        leaseDurationMs: election.leaseDurationMs,
        renewDeadlineMs: election.renewDeadlineMs,
        retryPeriodMs: election.retryPeriodMs,
        logger,
        onStartedLeading: (signal) => {
          this.startLeading();
          signal.addEventListener('abort', () => this.leading?.abort());
        },
        onStoppedLeading: () => void this.stopLeading(),
      });
      this.elector.start();
    } else {
      this.startLeading();
    }
    if (this.options.listen) await this.listen(this.options.listen);
  }

  /** Stop: leader work drained, Lease released, informers stopped, server closed. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const timer of this.timers) clearInterval(timer);
    await this.stopLeading();
    await this.elector?.stop();
    for (const informer of this.informers) informer.stop();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private startLeading(): void {
    this.leading = new AbortController();
    const signal = this.leading.signal;
    this.stoppers = this.leaderWork.map((work) => work(signal));
  }

  private async stopLeading(): Promise<void> {
    this.leading?.abort();
    this.leading = undefined;
    const stoppers = this.stoppers;
    this.stoppers = [];
    await Promise.all(stoppers.map((stop) => stop()));
  }

  private async listen(at: { host: string; port: number }): Promise<void> {
    const { metrics } = this.options;
    const server = createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0];
      if (path === '/healthz')
        return void response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      if (path === '/readyz') {
        const ready = !this.stopping && this.informers.every((informer) => informer.hasSynced);
        return void response
          .writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' })
          .end(ready ? `ok (${this.isLeader() ? 'leader' : 'standby'})` : 'not ready');
      }
      if (path === '/metrics') {
        void metrics
          .render()
          .then((text) => response.writeHead(200, { 'content-type': metrics.contentType }).end(text));
        return;
      }
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(at.port, at.host, resolve));
    const address = server.address() as AddressInfo;
    this.url = `http://${at.host.includes(':') ? `[${at.host}]` : at.host}:${address.port}`;
  }
}
