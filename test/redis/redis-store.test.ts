import { storeConformance } from '../conformance/store.suite.js';

storeConformance('redis');
