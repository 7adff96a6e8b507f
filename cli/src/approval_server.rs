//! A local HTTP server on 127.0.0.1 that serves the real approval endpoint
//! handler, for `shiftgate local` and the browser test. (Being written.)
