import type { ClusterStatus } from './cluster-poller';
import type { RateSeries } from './series';

/**
 * What the dashboard draws (GET /api/state, each server-sent event): the latest cluster poll and the
 * throughput of the last minutes. Read by assets/dashboard.js too (its type check imports this file).
 */
export interface DashboardState extends ClusterStatus {
  metaPrefix: string;
  throughput: RateSeries[];
}
