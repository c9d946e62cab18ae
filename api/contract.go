package api

import (
	"sync"

	"github.com/portalaccess/portal/api/contract"
)

var loadContract = sync.OnceValues(func() (*contract.Contract, error) { return contract.Load(openAPISpec) })

// LoadContract returns openapi.yaml as the server checks requests with it;
// it is parsed and validated once per process.
func LoadContract() (*contract.Contract, error) { return loadContract() }
