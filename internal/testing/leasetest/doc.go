// Package leasetest holds a rotator run at its take-over of an expired
// lease (tokenstore.Store.Lease), so that a test can let other runs act
// in that window: GatedTakeOver wraps the tokenstore.API a Store calls.
package leasetest
