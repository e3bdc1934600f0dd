// Package tokenstore reads and writes token records in SSM Parameter Store.
//
// Records are SecureString parameters, read in batches of 10 (GetParameters)
// and written over the previous version with a customer-managed KMS key when
// one is given. A write chooses the tier from the value's size: Standard up
// to 4 KiB, Advanced up to 8 KiB, an error above; a record that once needed
// Advanced stays Advanced, since SSM cannot move it back, and a Store that
// knows (it read or wrote a value over 4 KiB there) writes it so at once, in
// one PutParameter call (moto enforces none of this: TestTier,
// TestWriteKeepsAdvancedTier and TestRewriteOfAdvancedRecordIsOneWrite check
// it against fakes). A write refused at the account's parameter limit fails
// with ErrParameterLimit, which says what to do.
//
// Leases (Store.Lease) keep two rotator runs from fetching the same
// profiles at once: a lease is a parameter (LeaseName) created with
// Overwrite=false, which SSM creates atomically. An expired lease is taken
// over by overwriting it and checking that the version this write replaced
// holds the expired value the run found (versions restart when a lease is
// released and created again); the runs that lose that race have
// overwritten the winner's value too, so a lease is held until the latest
// expiry any of its versions names (GetParameterHistory), and the winner's
// release, finding another value, leaves it to that expiry. A run deletes only a lease whose value (a random
// nonce) is still its own. SSM has no compare-and-delete, so a release and
// another run's take-over of the expired lease can still race in a narrow
// window; runs exclude each other only through the same lease parameter, so
// two stacks whose prefixes nest could both refresh one record.
//
// A Store is safe for concurrent use if its API is.
package tokenstore
