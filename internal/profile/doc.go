// Package profile parses and validates the profiles document: the list of
// tokens the rotator keeps, one profile per token, each naming a credentials
// secret, a token endpoint and what to send it:
//
//	profiles:
//	  - name: aviv-caas-agency-42
//	    token_url: https://auth.api.aviv-group.com/oauth/token
//	    secret_id: oauth-clients/aviv
//	    audience: https://api.aviv-group.com/caas/v3
//	    params: {intermediary_id: agency-42}
//
// Load reads a document and Parse parses one; an invalid document is
// refused whole, with an error listing every problem, each naming the
// profile and the field (Error). Every field, its default and its rules:
// docs/profiles.md. Parsed profiles are values safe to share between
// goroutines as long as nobody mutates their maps.
package profile
