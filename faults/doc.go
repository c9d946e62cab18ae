// Package faults holds the fault-injection suite: the built portal binary
// as real processes (API and worker apart), on real Postgres and a
// Temporal dev server kept on a file database, with Mailgun's mock server
// as the mail provider; Postgres and the provider are reached through
// Toxiproxy, run in the suite's own process. Each case runs a bulk invite
// with single invites and accepts in flight, injects one fault, then
// checks that nothing was lost or done twice, with its own queries and
// with `portal check -json`.
//
// The suite takes about ten minutes and runs only when FAULTS=1 (`make
// faults`); otherwise its tests skip, saying so.
package faults
