// Package ratelimit enforces the rate limits of keys and accounts
// (store.RateLimits): requests per minute, tokens per minute and requests
// in flight.
//
// Requests and tokens are limited with GCRA (the generic cell rate
// algorithm): each limited subject keeps a theoretical arrival time (TAT)
// per dimension. Admitting a request of cost c moves the TAT to
// max(TAT, now) + c·T, where T is the minute divided by the limit; a
// request is refused when that would put the TAT more than a minute ahead
// of now. So a full minute's allowance may be spent at once, and it comes
// back continuously (one request every T), not at a minute boundary. A
// TAT at or before now is the same as no state at all, so idle entries can
// be dropped at any time without changing a decision.
//
// Tokens are charged when a request is admitted at its worst case (the
// prompt estimate and the most output it may produce, the same figure
// billing reserves), capped at one minute's allowance so that a request
// larger than the limit is admitted when the bucket is full instead of
// never; the settle call corrects the charge to the tokens really used
// (a refund, or an extra charge of at most two minutes' allowance).
//
// A request passes only when every subject passes (its key and its
// account): the check and the charge happen under one lock (Memory) or in
// one Lua script (Redis), so a refusal by one subject consumes nothing of
// the other.
//
// Memory limits one process. Redis shares limits among every gateway
// instance that points at the same server; when Redis fails the Limiter
// serves from its Memory until Redis answers again, logging each change
// and counting each error.
package ratelimit
