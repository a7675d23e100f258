// Flux Gallery: side-by-side compare (filled in below).
"use strict";
