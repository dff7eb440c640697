// The home page: drawn at the edge; only the shared header needs code.
import './shop.js';
