import type { ClusterStatus } from './cluster-poller';
import type { RestoresState } from './restores';
import type { RateSeries } from './series';

/**
 * What the dashboard draws (GET /api/state, each server-sent event): the latest cluster poll, the
 * throughput of the last minutes and the partition restores (in progress, recently finished). Read by assets/dashboard.js too (its type check imports this file).
 */
export interface DashboardState extends ClusterStatus {
  metaPrefix: string;
  throughput: RateSeries[];
  restores: RestoresState;
}
