// # Tiers
//
// SSM cannot move a parameter back from Advanced to Standard, so a record
// that once needed Advanced stays Advanced. A Store writes a record that
// fits Standard as Advanced at once to a parameter it knows is Advanced
// (it read a value over 4 KiB there, or wrote one): one PutParameter call,
// as the rotator's write budget counts. What it cannot know is a small
// record on an Advanced parameter that another Lambda environment wrote:
// the first rewrite there costs a refused Standard call and the Advanced
// one, once per Store, out of the budget's headroom. moto enforces none of
// this: TestTier, TestWriteChoosesTier, TestWriteKeepsAdvancedTier and
// TestRewriteOfAdvancedRecordIsOneWrite check it against fakes.
//
// # The lease's known limits
//
// A lease is taken over by overwriting the expired lease and checking that
// this write made the next version; its value carries a random nonce, and a
// run deletes only a lease whose value is still its own. A run that loses a
// take-over race has overwritten the winner's value with its own, perhaps
// with a shorter expiry; so a lease is held until the latest expiry any of
// its versions names (GetParameterHistory, granted on leases only), and a
// third run cannot take it over while the winner works
// (TestLeasesAgainstMoto, and the rotator's TestRotatorUnderFaults with
// three real runs). The winner's release then finds another value and
// leaves the lease, which lasts until that latest expiry: runs in between
// skip, and no token is fetched twice. SSM has no compare-and-delete, so a
// narrow window remains: a release that reads its own value and deletes it
// in the instant another run takes over the expired lease. Leases do not
// expire under a live run (the rotator's work ends well inside the lease;
// see the rotator's documentation) and the rotator has reserved concurrency
// 1. Runs exclude each other only through the same lease parameter, so two
// stacks whose prefixes nest could both refresh one record: give every
// stack its own prefix.
package tokenstore
