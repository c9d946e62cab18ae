package api

import (
	_ "embed"

	"github.com/gin-gonic/gin"
)

//go:embed openapi.yaml
var openAPISpec []byte

func serveOpenAPI(c *gin.Context) {
	c.Data(200, "application/yaml", openAPISpec)
}
