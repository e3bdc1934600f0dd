// Package tokencachetest is an in-memory SSM Parameter Store for the unit
// tests of code that consumes tokens through package tokencache, in the
// style of net/http/httptest: the code under test keeps its real
// tokencache.Cache, and only Parameter Store is replaced:
//
//	var store tokencachetest.Store
//	store.SetToken("partner-api", "token-1", time.Now(), time.Hour)
//	cache := tokencache.New(&store, tokencache.Config{})
package tokencachetest
