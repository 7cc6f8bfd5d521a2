export { MetaSeries, MetaPoint, RateSeries, SeriesKey, SeriesSummary, Action } from './series';
export { groupStatus, partitionStatus, worst, DEFAULT_RULES, GroupStatus, GroupEvaluation, LagSample, PartitionOffsets, StatusRules } from './lag-status';
export { ClusterPoller, ClusterSnapshot, BrokerState, TopicSize, GroupView, tcpAnswers } from './cluster-poller';
export { decodeMetaReport, readMetaReports, followMetaReports, metaTopics, UndecodableMeta } from './meta-reader';
export { startMonitor, Monitor, MonitorOptions, Snapshot } from './monitor';
