package audit

// UsageFromEvents is the event-by-event aggregation, the reference the
// usage index is checked against.
var UsageFromEvents = usageFromEvents
