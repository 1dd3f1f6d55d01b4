package s3blob

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/medallionhq/medallion/storage"
	"github.com/medallionhq/medallion/storage/internal/blobutil"
)

// statusOf returns the HTTP status and error code of a service response
// error.
func statusOf(err error) (int, string) {
	status, code := 0, ""
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	return status, code
}

// redact removes the secrets the driver knows of from s and folds it onto
// one line.
func (d *driver) redact(s string) string {
	for _, secret := range d.secrets {
		if len(secret) >= 6 {
			s = strings.ReplaceAll(s, secret, "[REDACTED]")
		}
	}
	return blobutil.OneLine(s)
}

// fail turns an SDK error into the driver's error: context errors stay
// themselves, a missing key becomes storage.ErrNotFound, and everything
// else is one line naming the cause and what to fix. key is "" for
// listings.
func (d *driver) fail(ctx context.Context, err error, key string) error {
	if err == nil {
		return nil
	}
	if cerr := blobutil.ContextError(ctx, err); cerr != nil {
		return cerr
	}
	msg := func(format string, args ...any) error {
		return &blobutil.Error{Msg: d.redact(fmt.Sprintf(format, args...))}
	}
	status, code := statusOf(err)
	var ae smithy.APIError
	detail := ""
	if errors.As(err, &ae) {
		detail = blobutil.FirstLine(ae.ErrorMessage())
	}
	what := fmt.Sprintf("HTTP %d", status)
	if code != "" {
		what += " " + code
	}
	switch {
	case status == 0:
		// No response: the request never got an answer.
	case code == "NoSuchBucket":
		return msg("bucket %q does not exist%s (%s): create it (aws s3 mb s3://%s) or fix the bucket in the URL", d.bucket, d.where(), what, d.bucket)
	case status == http.StatusNotFound && code == "NoSuchKey":
		return &blobutil.Error{Msg: "not found", Sentinel: storage.ErrNotFound}
	case status == http.StatusNotFound:
		// HEAD answers have no body: a missing bucket and a missing key
		// both read "404 NotFound". Ask once which it is.
		if key != "" && !d.bucketSeen.Load() {
			if _, herr := d.client.HeadBucket(ctx, headBucketInput(d.bucket)); herr != nil {
				if s, _ := statusOf(herr); s == http.StatusNotFound {
					return msg("bucket %q does not exist%s (HTTP 404): create it (aws s3 mb s3://%s) or fix the bucket in the URL", d.bucket, d.where(), d.bucket)
				}
			} else {
				d.bucketSeen.Store(true)
			}
		}
		return &blobutil.Error{Msg: "not found", Sentinel: storage.ErrNotFound}
	case code == "InvalidAccessKeyId":
		return msg("S3 does not know the access key ID (%s): check AWS_ACCESS_KEY_ID, or the aws_access_key_id of the profile in use (AWS_PROFILE)", what)
	case code == "SignatureDoesNotMatch":
		return msg("S3 rejected the request signature (%s): check AWS_SECRET_ACCESS_KEY, or the aws_secret_access_key of the profile in use (AWS_PROFILE)", what)
	case code == "ExpiredToken" || code == "TokenRefreshRequired" || code == "InvalidToken":
		return msg("the AWS session credentials are expired or invalid (%s): refresh them (aws sso login, or a new AWS_SESSION_TOKEN)", what)
	case code == "PermanentRedirect" || code == "AuthorizationHeaderMalformed" || status == http.StatusMovedPermanently:
		region := bucketRegion(err)
		if region != "" {
			return msg("bucket %q is in region %s, not %s (%s): set AWS_REGION=%s", d.bucket, region, d.region, what, region)
		}
		return msg("bucket %q is not in region %s (%s): set AWS_REGION to the bucket's region", d.bucket, d.region, what)
	case status == http.StatusForbidden:
		return msg("access denied to s3://%s/%s (%s): check the credentials in use (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE) and that they allow s3:GetObject, s3:PutObject, s3:DeleteObject and s3:ListBucket on the bucket (without s3:ListBucket S3 also answers 403 for missing keys)", d.bucket, d.root, what)
	case status == http.StatusNotImplemented && code != "":
		return msg("the S3 endpoint%s does not implement a feature the driver needs (%s): conditional writes (If-None-Match) need S3 or a compatible store that supports them", d.where(), what)
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable ||
		status == http.StatusInternalServerError || status == http.StatusBadGateway || status == http.StatusGatewayTimeout:
		return msg("S3 is throttling or unavailable%s (%s) after %d attempts with backoff: lower the concurrency or try again later", d.where(), what, d.attempts)
	default:
		if detail != "" {
			return msg("S3 answered %s: %s", what, detail)
		}
		return msg("S3 answered %s", what)
	}
	// No HTTP response.
	text := err.Error()
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr):
		return msg("cannot resolve the S3 endpoint%s: check the bucket name, AWS_REGION and AWS_ENDPOINT_URL_S3", d.where())
	case errors.Is(err, syscall.ECONNREFUSED):
		hint := "check AWS_ENDPOINT_URL_S3"
		if localEndpoint(d.endpoint) {
			hint = "is the local S3 server running? scripts/s3server.sh starts one"
		}
		return msg("cannot connect to the S3 endpoint%s (connection refused): %s", d.where(), hint)
	case strings.Contains(text, "failed to retrieve credentials") || strings.Contains(text, "get credentials") ||
		strings.Contains(text, "no EC2 IMDS role"):
		return msg("no usable AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, choose a profile with AWS_PROFILE, or sign in with `aws sso login` (%s)", blobutil.LastCause(err))
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return msg("cannot reach the S3 endpoint%s: %v", d.where(), ue.Err)
	}
	return msg("%s", text)
}

// where names the endpoint for messages: "" for AWS itself.
func (d *driver) where() string {
	if d.endpoint == "" {
		return ""
	}
	if u, err := url.Parse(d.endpoint); err == nil {
		return " at " + u.Scheme + "://" + u.Host
	}
	return ""
}

// bucketRegion reads the x-amz-bucket-region header of a redirect.
func bucketRegion(err error) string {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.Header.Get("X-Amz-Bucket-Region")
	}
	return ""
}
