// Package bundlesrc fetches signed policy bundles from where CI publishes
// them: a file (file://, watched with fsnotify and debounced, and polled)
// or an HTTPS server (https://, polled with If-None-Match/ETag and a
// jittered backoff on errors). Every source enforces a size limit.
//
// Main types: Source (Run delivers Events until its context ends) and
// Event (new bundle bytes, a "not modified" confirmation, or an error).
// Sources do not verify bundles; runtime/activation does. A new kind of
// source (an object store, an OCI registry) implements fetcher and reuses
// the poll loop.
package bundlesrc
