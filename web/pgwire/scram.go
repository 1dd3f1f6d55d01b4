package pgwire

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"
)

const scramIterations = 4096

// scramAuth runs SCRAM-SHA-256 (RFC 5802, RFC 7677) as a Postgres server
// does, with token as the password: the client proves it knows the token
// without sending it.
func scramAuth(be *pgproto3.Backend, token string) error {
	be.Send(&pgproto3.AuthenticationSASL{AuthMechanisms: []string{"SCRAM-SHA-256"}})
	if err := be.Flush(); err != nil {
		return err
	}
	if err := be.SetAuthType(pgproto3.AuthTypeSASL); err != nil {
		return err
	}
	msg, err := be.Receive()
	if err != nil {
		return err
	}
	init, ok := msg.(*pgproto3.SASLInitialResponse)
	if !ok {
		return fmt.Errorf("expected a SASL initial response, got %T", msg)
	}
	if init.AuthMechanism != "SCRAM-SHA-256" {
		return fmt.Errorf("unsupported SASL mechanism %q", init.AuthMechanism)
	}
	clientFirst := string(init.Data)
	// gs2 header: "n,," or "y,," (no channel binding), then the bare part.
	parts := strings.SplitN(clientFirst, ",", 3)
	if len(parts) != 3 || (parts[0] != "n" && parts[0] != "y") {
		return errors.New("malformed or channel-bound SCRAM client-first message")
	}
	gs2 := parts[0] + "," + parts[1] + ","
	bare := parts[2]
	var cnonce string
	for _, a := range strings.Split(bare, ",") {
		if v, ok := strings.CutPrefix(a, "r="); ok {
			cnonce = v
		}
	}
	if cnonce == "" {
		return errors.New("SCRAM client-first message without a nonce")
	}
	salt := make([]byte, 16)
	snonce := make([]byte, 18)
	_, _ = rand.Read(salt)
	_, _ = rand.Read(snonce)
	nonce := cnonce + base64.StdEncoding.EncodeToString(snonce)
	serverFirst := fmt.Sprintf("r=%s,s=%s,i=%d", nonce, base64.StdEncoding.EncodeToString(salt), scramIterations)
	be.Send(&pgproto3.AuthenticationSASLContinue{Data: []byte(serverFirst)})
	if err := be.Flush(); err != nil {
		return err
	}
	if err := be.SetAuthType(pgproto3.AuthTypeSASLContinue); err != nil {
		return err
	}
	msg, err = be.Receive()
	if err != nil {
		return err
	}
	resp, ok := msg.(*pgproto3.SASLResponse)
	if !ok {
		return fmt.Errorf("expected a SASL response, got %T", msg)
	}
	clientFinal := string(resp.Data)
	i := strings.LastIndex(clientFinal, ",p=")
	if i < 0 {
		return errors.New("SCRAM client-final message without a proof")
	}
	withoutProof := clientFinal[:i]
	proof, err := base64.StdEncoding.DecodeString(clientFinal[i+3:])
	if err != nil {
		return errors.New("SCRAM proof is not base64")
	}
	var gotNonce, binding string
	for _, a := range strings.Split(withoutProof, ",") {
		if v, ok := strings.CutPrefix(a, "r="); ok {
			gotNonce = v
		} else if v, ok := strings.CutPrefix(a, "c="); ok {
			binding = v
		}
	}
	if gotNonce != nonce || binding != base64.StdEncoding.EncodeToString([]byte(gs2)) {
		return errors.New("SCRAM nonce or channel binding mismatch")
	}
	salted, err := pbkdf2.Key(sha256.New, token, salt, scramIterations, sha256.Size)
	if err != nil {
		return err
	}
	clientKey := hmacSum(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	authMsg := bare + "," + serverFirst + "," + withoutProof
	sig := hmacSum(storedKey[:], authMsg)
	if len(proof) != len(sig) {
		return errors.New("wrong password")
	}
	got := make([]byte, len(sig))
	for k := range sig {
		got[k] = proof[k] ^ sig[k]
	}
	gotStored := sha256.Sum256(got)
	if subtle.ConstantTimeCompare(gotStored[:], storedKey[:]) != 1 {
		return errors.New("wrong password")
	}
	serverSig := hmacSum(hmacSum(salted, "Server Key"), authMsg)
	be.Send(&pgproto3.AuthenticationSASLFinal{Data: []byte("v=" + base64.StdEncoding.EncodeToString(serverSig))})
	return nil
}

func hmacSum(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}
