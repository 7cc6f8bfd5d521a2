// The one runtime entry to KafkaJS in the project: every file of libs/messaging loads the client through
// here (eslint says so), so the grouping fix is in place before KafkaJS's producer module is first loaded.
import './kafkajs-fix';

export * from 'kafkajs';
