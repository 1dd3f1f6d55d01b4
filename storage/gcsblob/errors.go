package gcsblob

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"syscall"

	"cloud.google.com/go/auth"
	gcs "cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"

	"github.com/medallionhq/medallion/storage"
	"github.com/medallionhq/medallion/storage/internal/blobutil"
)

// opKind says what a 404 means for an operation.
type opKind int

const (
	opRead  opKind = iota // read, stat: a missing object or a missing bucket
	opWrite               // upload, delete: a missing bucket (objects are not needed)
	opList                // listing: a missing bucket
)

// statusOf returns the HTTP status of a service error, 0 if there is
// none.
func statusOf(err error) int {
	var ge *googleapi.Error
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ge):
		return ge.Code
	case errors.Is(err, gcs.ErrObjectNotExist), errors.Is(err, gcs.ErrBucketNotExist):
		return http.StatusNotFound
	}
	return 0
}

// serviceError returns the HTTP status, the reason of the first error
// item ("forbidden", "notFound", "conditionNotMet", ...) and the first line
// of the message of a service error. Errors of reads carry the response
// body unparsed; it is read here.
func serviceError(err error) (status int, reason, message string) {
	status = statusOf(err)
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		return status, "", ""
	}
	items, message := ge.Errors, ge.Message
	if len(items) == 0 && message == "" && ge.Body != "" {
		var body struct {
			Error struct {
				Message string                `json:"message"`
				Errors  []googleapi.ErrorItem `json:"errors"`
			} `json:"error"`
		}
		if json.Unmarshal([]byte(ge.Body), &body) == nil {
			items, message = body.Error.Errors, body.Error.Message
		}
	}
	for _, item := range items {
		if reason == "" && item.Reason != "" {
			reason = item.Reason
		}
		if message == "" && item.Message != "" {
			message = item.Message
		}
	}
	message = blobutil.FirstLine(message)
	if len(message) > 240 {
		message = message[:240] + "..."
	}
	return status, reason, message
}

// secretPatterns match credential material that must never reach an error
// message: OAuth access and refresh tokens, bearer headers, private keys,
// and token parameters of URLs or JSON bodies.
var secretPatterns = []*regexp.Regexp{
	regexp.MustCompile(`ya29\.[A-Za-z0-9_\-.]+`),
	regexp.MustCompile(`1//[A-Za-z0-9_\-]{10,}`),
	regexp.MustCompile(`(?i)bearer\s+[A-Za-z0-9_\-.~+/=]+`),
	regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)`),
	regexp.MustCompile(`(?i)"?(access_token|refresh_token|id_token|private_key|client_secret|assertion)"?\s*[:=]\s*"?[^"&\s,;()}]+`),
	regexp.MustCompile(`eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*`), // JWTs
}

// redact removes credential material from s and folds it onto one line.
func redact(s string) string {
	for _, re := range secretPatterns {
		s = re.ReplaceAllString(s, "[REDACTED]")
	}
	return blobutil.OneLine(s)
}

func newError(format string, args ...any) error {
	return &blobutil.Error{Msg: redact(fmt.Sprintf(format, args...))}
}

// adcHint is what to do about missing or unusable credentials.
const adcHint = "run `gcloud auth application-default login`, set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file, or run on Google Cloud with a service account attached (for a local emulator set " + EnvEmulatorHost + ")"

// credentialsError describes a failure to set up the client, which is a
// failure to find credentials.
func credentialsError(err error) error {
	text := err.Error()
	if file := os.Getenv("GOOGLE_APPLICATION_CREDENTIALS"); file != "" {
		return newError("cannot use the credentials file GOOGLE_APPLICATION_CREDENTIALS=%s (%s): point it at a valid service-account key or credential file, or unset it to use gcloud's application-default login",
			file, blobutil.LastCause(err))
	}
	if strings.Contains(text, "could not find default credentials") {
		return newError("no Google Cloud credentials found (Application Default Credentials): %s", adcHint)
	}
	return newError("cannot set up the Google Cloud Storage client: %s (credentials: %s)", blobutil.LastCause(err), adcHint)
}

// fail turns a client error into the driver's error: context errors stay
// themselves, a missing object becomes storage.ErrNotFound, and everything
// else is one line naming the cause and what to fix.
func (d *driver) fail(ctx context.Context, err error, op opKind) error {
	if err == nil {
		return nil
	}
	if cerr := blobutil.ContextError(ctx, err); cerr != nil {
		return cerr
	}
	status, reason, detail := serviceError(err)
	detail = redact(detail)
	what := fmt.Sprintf("HTTP %d", status)
	if reason != "" {
		what += " " + reason
	}
	if detail != "" {
		what += ": " + detail
	}
	lower := strings.ToLower(detail)
	switch {
	case status == 0:
		return d.failTransport(err)
	case status == http.StatusNotFound && (op != opRead || errors.Is(err, gcs.ErrBucketNotExist) ||
		strings.Contains(lower, "bucket does not exist")):
		return d.missingBucket()
	case status == http.StatusNotFound:
		// Objects of a missing bucket are missing too: ask once which it is.
		if !d.bucketSeen.Load() {
			q := &gcs.Query{Prefix: "", Projection: gcs.ProjectionNoACL}
			it := d.bucket.Objects(ctx, q)
			it.PageInfo().MaxSize = 1
			if _, lerr := it.Next(); lerr == nil || lerr == iterator.Done {
				d.bucketSeen.Store(true)
			} else if errors.Is(lerr, gcs.ErrBucketNotExist) || statusOf(lerr) == http.StatusNotFound {
				return d.missingBucket()
			}
		}
		return &blobutil.Error{Msg: "not found", Sentinel: storage.ErrNotFound}
	case status == http.StatusUnauthorized:
		return newError("Google Cloud Storage%s rejected the credentials (%s): %s", d.where(), what, adcHint)
	case reason == "userProjectMissing" || strings.Contains(lower, "requester pays"):
		return newError("bucket %q is requester-pays (%s): open it with gcsblob.Open and Options.UserProject set to a project to bill", d.bucketName, what)
	case status == http.StatusForbidden && (reason == "accountDisabled" || strings.Contains(lower, "billing")):
		return newError("the Google Cloud project billed for bucket %q cannot be charged (%s): enable billing for the project, or set GOOGLE_CLOUD_QUOTA_PROJECT to a project with billing", d.bucketName, what)
	case status == http.StatusForbidden && (reason == "userProjectAccessDenied" || reason == "userProjectInvalid" ||
		strings.Contains(lower, "serviceusage") || strings.Contains(lower, "user project") || strings.Contains(lower, "quota project")):
		return newError("the credentials may not use the Google Cloud project set for quota and billing (%s): set GOOGLE_CLOUD_QUOTA_PROJECT, or run `gcloud auth application-default set-quota-project PROJECT`, with a project where the account has roles/serviceusage.serviceUsageConsumer", what)
	case status == http.StatusForbidden:
		return newError("permission denied on bucket %q (%s): grant the account in use roles/storage.objectUser on the bucket (storage.objects.get, create, delete and list), or use other credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud auth application-default login)", d.bucketName, what)
	case status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status >= 500:
		return newError("Google Cloud Storage%s is throttling or unavailable (%s) after retries with backoff (%d attempts): lower the concurrency or try again later", d.where(), what, d.attempts)
	}
	return newError("Google Cloud Storage%s answered %s", d.where(), what)
}

func (d *driver) missingBucket() error {
	return newError("bucket %q does not exist%s (HTTP 404): create it (gcloud storage buckets create gs://%s) or fix the bucket in the URL", d.bucketName, d.where(), d.bucketName)
}

// failTransport describes an error without an HTTP response: a failure to
// get a token or to reach the service.
func (d *driver) failTransport(err error) error {
	text := err.Error()
	var ae *auth.Error
	var dnsErr *net.DNSError
	switch {
	case strings.Contains(text, "computeMetadata/") || strings.Contains(text, "metadata: "):
		return newError("cannot get an access token from the Google Cloud metadata server (%s): attach a service account to the VM or workload, or, off Google Cloud, %s", blobutil.LastCause(err), adcHint)
	case errors.As(err, &ae) || strings.Contains(text, "oauth2") || strings.Contains(text, "credentials: ") || strings.Contains(text, "auth: "):
		return d.tokenError(err)
	case errors.As(err, &dnsErr):
		return newError("cannot resolve the Google Cloud Storage endpoint%s (%s): check the network and DNS settings", d.where(), dnsErr.Name)
	case errors.Is(err, syscall.ECONNREFUSED):
		hint := "check the network and proxy settings (HTTPS_PROXY)"
		if d.emulator != "" {
			hint = "is the emulator running? (" + EnvEmulatorHost + "=" + d.emulator + ")"
		}
		return newError("cannot connect to Google Cloud Storage%s (connection refused) after %d attempts: %s", d.where(), d.attempts, hint)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return newError("cannot reach Google Cloud Storage%s: %v", d.where(), ue.Err)
	}
	return newError("%s", text)
}

// tokenError describes a refused token request.
func (d *driver) tokenError(err error) error {
	text := err.Error()
	switch {
	case strings.Contains(text, "invalid_grant"):
		return newError("the Google Cloud credentials are expired or revoked (%s): run `gcloud auth application-default login` again, or check the key in GOOGLE_APPLICATION_CREDENTIALS", blobutil.LastCause(err))
	case strings.Contains(text, "invalid_client") || strings.Contains(text, "unauthorized_client"):
		return newError("Google refused the credentials' client or key (%s): the service-account key may be deleted or disabled; check GOOGLE_APPLICATION_CREDENTIALS", blobutil.LastCause(err))
	}
	return newError("cannot get a Google Cloud access token (%s): %s", blobutil.LastCause(err), adcHint)
}

// where names the endpoint for messages: "" for Google's service.
func (d *driver) where() string {
	if d.emulator == "" {
		return ""
	}
	return " at the emulator " + d.emulator
}
