import { storeConformance } from './conformance/suite.js';

storeConformance('sqlite');
