export { MetaSeries, MetaPoint, RateSeries, SeriesKey, SeriesSummary, Action } from './series';
export {
  groupStatus,
  partitionStatus,
  worst,
  DEFAULT_RULES,
  GroupStatus,
  GroupEvaluation,
  LagSample,
  PartitionOffsets,
  StatusRules,
} from './lag-status';
export { ClusterPoller, ClusterStatus, BrokerState, GroupView, tcpAnswers } from './cluster-poller';
export { decodeMetaReport, isRestore, readMetaReports, followMetaReports, metaTopics, UndecodableMeta } from './meta-reader';
export { RestoreTracker, RestoreEvent, RestoreView, RestoresState, RestoreTrackerOptions } from './restores';
export { DashboardState } from './dashboard-state';
export { MonitorCore, MonitorCoreOptions, MonitorLogger } from './monitor-core';
export { startDashboardServer, DashboardServerOptions, MoviesApiForwarding } from './dashboard-server';
export { startMonitor, Monitor, MonitorOptions } from './monitor';
export type { TopicSize } from '@movie-stream/messaging';
