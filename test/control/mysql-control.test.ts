import { controlConformance } from './control-store.suite.js';

controlConformance('mysql');
