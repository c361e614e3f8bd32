import { controlConformance } from './control/control-conformance.js';

controlConformance('mysql');
