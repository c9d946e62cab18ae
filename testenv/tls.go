package testenv

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Certs are PEM files for a TLS test: a CA, a server certificate for
// 127.0.0.1 and localhost and a client certificate, both signed by it,
// and a second CA that signed neither.
type Certs struct {
	CA, ServerCert, ServerKey, ClientCert, ClientKey, OtherCA string
}

// WriteCerts makes fresh certificates in dir.
func WriteCerts(dir string) (*Certs, error) {
	c := &Certs{
		CA: filepath.Join(dir, "ca.pem"), OtherCA: filepath.Join(dir, "other-ca.pem"),
		ServerCert: filepath.Join(dir, "server.pem"), ServerKey: filepath.Join(dir, "server-key.pem"),
		ClientCert: filepath.Join(dir, "client.pem"), ClientKey: filepath.Join(dir, "client-key.pem"),
	}
	ca, caKey, err := newCert(c.CA, "", &x509.Certificate{Subject: pkix.Name{CommonName: "test CA"}, IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}, nil, nil)
	if err != nil {
		return nil, err
	}
	if _, _, err := newCert(c.OtherCA, "", &x509.Certificate{Subject: pkix.Name{CommonName: "other CA"}, IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}, nil, nil); err != nil {
		return nil, err
	}
	if _, _, err := newCert(c.ServerCert, c.ServerKey, &x509.Certificate{Subject: pkix.Name{CommonName: "temporal"},
		DNSNames: []string{"localhost", "temporal.test"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, ca, caKey); err != nil {
		return nil, err
	}
	if _, _, err := newCert(c.ClientCert, c.ClientKey, &x509.Certificate{Subject: pkix.Name{CommonName: "portal"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, ca, caKey); err != nil {
		return nil, err
	}
	return c, nil
}

var serial int64

// newCert signs tmpl with parent (itself when nil) and writes it, and its
// key when keyPath is set.
func newCert(certPath, keyPath string, tmpl *x509.Certificate, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial++
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano() + serial)
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return nil, nil, err
	}
	if keyPath != "" {
		kb, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return nil, nil, err
		}
		if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
			return nil, nil, err
		}
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

// TLSProxy terminates mutual TLS in front of target (a dev server, which
// speaks only plain gRPC), the way a self-hosted cluster with mTLS or a
// TLS load balancer does: clients must present a certificate signed by
// the test CA. It returns the proxy's address and a function to stop it.
func TLSProxy(ctx context.Context, certs *Certs, target string) (string, func(), error) {
	cert, err := tls.LoadX509KeyPair(certs.ServerCert, certs.ServerKey)
	if err != nil {
		return "", nil, err
	}
	caPEM, err := os.ReadFile(certs.CA)
	if err != nil {
		return "", nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	tln := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool,
		ClientAuth: tls.RequireAndVerifyClientCert, NextProtos: []string{"h2"}, MinVersion: tls.VersionTLS12})
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Go(func() {
		for {
			conn, err := tln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			wg.Go(func() { forward(ctx, conn, target) })
		}
	})
	stop := func() {
		_ = tln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}
	return ln.Addr().String(), stop, nil
}

// forward copies one connection both ways; the gRPC bytes inside TLS are
// the same HTTP/2 the dev server reads in clear.
func forward(ctx context.Context, conn net.Conn, target string) {
	defer func() { _ = conn.Close() }()
	if tc, ok := conn.(*tls.Conn); ok {
		if err := tc.HandshakeContext(ctx); err != nil {
			return
		}
	}
	up, err := (&net.Dialer{}).DialContext(ctx, "tcp", target)
	if err != nil {
		return
	}
	defer func() { _ = up.Close() }()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, conn); done <- struct{}{} }()
	go func() { _, _ = io.Copy(conn, up); done <- struct{}{} }()
	<-done // either side ending ends both (the deferred closes)
}
