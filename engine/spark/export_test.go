package spark

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// SessionsOpened is the number of Spark Connect sessions this process
// opened.
func SessionsOpened() int64 { return sessionsOpened.Load() }

// AskServer sends the owner's Spark session id to the server at addr
// (host:port) on a new connection, asking its Spark version: nil while
// the server knows the session, the server's error once it was released.
func AskServer(ctx context.Context, o *Owner, addr string) error {
	id := o.rs.sessionID()
	if id == "" {
		return errors.New("spark: the owner's session id was not captured")
	}
	conn, err := grpc.NewClient(strings.TrimPrefix(addr, "sc://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	reqType, err := protoregistry.GlobalTypes.FindMessageByName("spark.connect.AnalyzePlanRequest")
	if err != nil {
		return err
	}
	respType, err := protoregistry.GlobalTypes.FindMessageByName("spark.connect.AnalyzePlanResponse")
	if err != nil {
		return err
	}
	req := reqType.New()
	f := req.Descriptor().Fields()
	req.Set(f.ByName("session_id"), protoreflect.ValueOfString(id))
	if o.rs.user != nil {
		req.Set(f.ByName("user_context"), protoreflect.ValueOfMessage(o.rs.user.ProtoReflect()))
	}
	req.Mutable(f.ByName("spark_version"))
	return conn.Invoke(ctx, "/spark.connect.SparkConnectService/AnalyzePlan", req.Interface(), respType.New().Interface())
}

// CheckStage is checkStage: the staging-location guard of Write.
func CheckStage(table, stage string) error { return checkStage(table, stage) }

// LogLostDuring reads the _delta_log of the local table folder table,
// runs f, reads it again and returns the log files Write's guard reports
// lost.
func LogLostDuring(table string, f func()) ([]string, error) {
	before, err := readLogState(table)
	if err != nil {
		return nil, err
	}
	f()
	after, err := readLogState(table)
	if err != nil {
		return nil, err
	}
	return before.lost(after), nil
}

// OwnerTag is the tag in the names of the views of the owner's sessions.
func OwnerTag(o *Owner) string { return o.rs.tag() }
