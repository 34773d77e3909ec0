export {
  collectIsolationReport,
  parseNwfilterBindingList,
  type CollectIsolationInput,
  type NwfilterBinding,
} from './report';
