package api

import (
	"github.com/gin-gonic/gin"

	"github.com/portalaccess/portal/api/contract"
)

// checkRequests refuses, before any handler runs, a request that breaks
// the OpenAPI document: a JSON body sent as another media type (415), one
// that is not UTF-8 JSON with each name once (400), or a body or
// parameter outside the document's rules (422, naming the field and the
// rule). So the document and the server can't disagree about what a
// request may hold.
func checkRequests(doc *contract.Contract) gin.HandlerFunc {
	return func(c *gin.Context) {
		if r := doc.Check(c.Request); r != nil {
			c.AbortWithStatusJSON(r.Status, errorBody{Error: errorDetail{Code: r.Code, Message: r.Message, Field: r.Field, Rule: r.Rule}})
			return
		}
		c.Next()
	}
}
