export { writeReport, formatTable, parseDuration, seriesOf, ReportResult } from './report';
export { renderLineChartSvg, LineChart, ChartMark } from './svg-chart';
