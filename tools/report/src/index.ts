export { writeReport, formatTable, parseDuration, seriesOf, resolveReportTarget, ReportResult, ReportTarget } from './report';
export { renderLineChartSvg, LineChart, ChartMark } from './svg-chart';
