package azureblob

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/medallionhq/medallion/storage"
	"github.com/medallionhq/medallion/storage/internal/blobutil"
)

// minSecretLen is the length below which a string is not redacted: shorter
// "secrets" are not real keys or signatures, and replacing them would garble
// messages.
const minSecretLen = 6

// redact removes every secret of the driver's configuration from s and
// folds it onto one line.
func (d *driver) redact(s string) string {
	for _, secret := range d.cfg.secrets {
		if len(secret) >= minSecretLen {
			s = strings.ReplaceAll(s, secret, "[REDACTED]")
		}
	}
	// Whatever slipped through: a sig= query parameter.
	for {
		i := strings.Index(s, "sig=")
		if i < 0 {
			break
		}
		j := i + len("sig=")
		for j < len(s) && !strings.ContainsRune("& \t\r\n\"'", rune(s[j])) {
			j++
		}
		s = s[:i] + "sig_REDACTED" + s[j:]
	}
	return blobutil.OneLine(s)
}

// fail turns an error from the SDK into the driver's error: a context
// error stays itself, a 404 for a blob becomes storage.ErrNotFound, and
// everything else a one-line message naming the cause and what to fix.
func (d *driver) fail(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if cerr := blobutil.ContextError(ctx, err); cerr != nil {
		return cerr
	}
	c := d.cfg
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return d.failResponse(re)
	}
	var authErr *azidentity.AuthenticationFailedError
	if errors.As(err, &authErr) {
		return &blobutil.Error{Msg: d.redact(fmt.Sprintf("Microsoft Entra ID refused a token for %s (%s): %s",
			c.credDesc, blobutil.FirstLine(authErr.Error()), c.fixHint))}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return &blobutil.Error{Msg: d.redact(d.transportMessage(ue.Err))}
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return &blobutil.Error{Msg: d.redact(d.transportMessage(err))}
	}
	if c.kind == credDefault || c.kind == credToken {
		// Errors before any request is sent are credential errors:
		// DefaultAzureCredential found nothing usable.
		if strings.Contains(err.Error(), "Credential") || strings.Contains(err.Error(), "credential") {
			return &blobutil.Error{Msg: d.redact(fmt.Sprintf("no usable Azure credential for storage account %q: %s (%s)",
				c.account, c.fixHint, blobutil.FirstLine(err.Error())))}
		}
	}
	return &blobutil.Error{Msg: d.redact(err.Error())}
}

// transportMessage describes a failure to talk to the endpoint at all.
func (d *driver) transportMessage(err error) string {
	c := d.cfg
	host := c.endpoint
	if u, perr := url.Parse(c.endpoint); perr == nil {
		host = u.Scheme + "://" + u.Host
	}
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("cannot resolve %s: check the storage account name %q", host, c.account)
	case errors.Is(err, syscall.ECONNREFUSED):
		hint := "check the endpoint"
		if h := hostOnly(host); h == "127.0.0.1" || h == "localhost" || h == "::1" {
			hint = "is Azurite running? scripts/azurite.sh starts it"
		}
		return fmt.Sprintf("cannot connect to %s (connection refused): %s", host, hint)
	}
	return fmt.Sprintf("cannot reach %s: %v", host, err)
}

func hostOnly(hostURL string) string {
	u, err := url.Parse(hostURL)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// failResponse maps an HTTP error response of the storage service.
func (d *driver) failResponse(re *azcore.ResponseError) error {
	c := d.cfg
	code := re.ErrorCode
	status := re.StatusCode
	what := fmt.Sprintf("HTTP %d", status)
	if code != "" {
		what += " " + code
	}
	msg := func(format string, args ...any) error {
		return &blobutil.Error{Msg: d.redact(fmt.Sprintf(format, args...))}
	}
	switch {
	case code == "ContainerNotFound":
		return msg("container %q does not exist in storage account %q (%s): create it (az storage container create --name %s --account-name %s) or fix the container in the URL",
			c.container, c.account, what, c.container, c.account)
	case status == http.StatusNotFound:
		return &blobutil.Error{Msg: "not found", Sentinel: storage.ErrNotFound}
	case code == "AuthenticationFailed" || code == "InvalidAuthenticationInfo" || code == "NoAuthenticationInformation":
		return msg("storage account %q rejected %s (%s): %s", c.account, c.credDesc, what, c.fixHint)
	case code == "AuthorizationSourceIPMismatch":
		return msg("storage account %q does not accept requests from this network (%s): allow this machine's IP address in the account's Networking settings", c.account, what)
	case code == "AuthorizationProtocolMismatch":
		return msg("storage account %q requires HTTPS (%s): use an https endpoint", c.account, what)
	case status == http.StatusForbidden:
		// AuthorizationFailure, AuthorizationPermissionMismatch,
		// AuthorizationResourceTypeMismatch, ...: the credential is valid
		// but not allowed, or the account's firewall blocks the request.
		// (Azurite also answers a wrong key with AuthorizationFailure.)
		return msg("storage account %q refused access to container %q with %s (%s): %s",
			c.account, c.container, c.credDesc, what, c.denyHint)
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable ||
		status == http.StatusInternalServerError || status == http.StatusBadGateway || status == http.StatusGatewayTimeout:
		return msg("storage account %q is throttling or unavailable (%s) after %d retries with backoff: lower the concurrency or try again later",
			c.account, what, d.retry.MaxRetries)
	case code == "InvalidResourceName":
		return msg("storage account %q rejected a blob or container name (%s): blob names have at most 1024 characters and 254 path segments", c.account, what)
	}
	detail := serviceMessage(re)
	if detail != "" {
		return msg("storage account %q answered %s: %s", c.account, what, detail)
	}
	return msg("storage account %q answered %s", c.account, what)
}

// serviceMessage returns the first line of the <Message> element of an
// error response body, if there is one. AuthenticationErrorDetail is
// deliberately not read: it quotes the request signature.
func serviceMessage(re *azcore.ResponseError) string {
	resp := re.RawResponse
	if resp == nil || resp.Body == nil {
		return ""
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil || len(body) == 0 {
		return ""
	}
	var e struct {
		Message string `xml:"Message"`
	}
	if xml.Unmarshal(body, &e) != nil {
		return ""
	}
	line := blobutil.FirstLine(e.Message)
	if len(line) > 200 {
		line = line[:200] + "..."
	}
	return line
}

// responseStatus returns the HTTP status and error code of a service
// response error.
func responseStatus(err error) (int, string, bool) {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode, re.ErrorCode, true
	}
	return 0, "", false
}
