/** What first-byte-probe.js puts before its one stderr line (its own module has side effects). */
export const PROBE_TAG = 'bench-probe '
