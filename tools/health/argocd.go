package main

// Argo CD's health of one object, computed as Argo CD computes it for a resource customization.
//
// Evidence (argoproj/argo-cd, read with the project's search tools; nothing copied):
//   - util/lua/lua.go runLuaWithResourceActionParameters: lua.NewState with SkipOpenLibs (UseOpenLibs
//     is false unless the customization sets it), then only the package, base and table libraries and
//     its own "safe" os are opened; the os loader is also preloaded so `require("os")` works; a
//     context with a 1 s timeout; the object is set as the global `obj` (decodeValue: maps become
//     hash tables, lists 1-based array tables, numbers LNumber, null nil).
//   - util/lua/oslib_safe.go OpenSafeOs calls RegisterModule with the name of the *table* library;
//     gopher-lua's RegisterModule returns an already loaded module unchanged, so it adds nothing:
//     the global `os` stays nil and only `local os = require("os")` reaches time and date. That
//     quirk is reproduced here on purpose (same calls, same gopher-lua version as Argo CD: v1.1.2).
//   - ExecuteHealthLua: a returned table is read as {status, message}; an unknown status becomes
//     Unknown "Lua returned an invalid health status"; nil means "no health".
//   - gitops-engine/pkg/health/health.go GetResourceHealth: an object with a deletionTimestamp (and
//     no hook finalizer) is "Progressing: Pending deletion" before any script runs; a script error
//     becomes Unknown with the error as message.

import (
	"context"
	"errors"
	"fmt"
	"time"

	lua "github.com/yuin/gopher-lua"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ScriptTimeout is Argo CD's limit on one health script run.
const ScriptTimeout = 1 * time.Second

const hookFinalizer = "argocd.argoproj.io/hook-finalizer"

var validHealth = map[string]bool{
	"Unknown": true, "Progressing": true, "Suspended": true, "Healthy": true, "Degraded": true, "Missing": true,
}

// Health is Argo CD's HealthStatus.
type Health struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// ArgoHealth is what Argo CD shows for obj; luaErr is the script's own failure, if any.
func ArgoHealth(obj *unstructured.Unstructured, script string) (health *Health, luaErr error) {
	if obj.GetDeletionTimestamp() != nil && !hasFinalizer(obj, hookFinalizer) {
		return &Health{Status: "Progressing", Message: "Pending deletion"}, nil
	}
	health, err := runHealthScript(obj.Object, script)
	if err != nil {
		return &Health{Status: "Unknown", Message: err.Error()}, err
	}
	return health, nil
}

func hasFinalizer(obj *unstructured.Unstructured, name string) bool {
	for _, finalizer := range obj.GetFinalizers() {
		if finalizer == name {
			return true
		}
	}
	return false
}

// newArgoState is a Lua state with exactly what Argo CD opens by default.
func newArgoState() *lua.LState {
	state := lua.NewState(lua.Options{SkipOpenLibs: true})
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.OsLibName, openSafeOs},
	} {
		if err := state.CallByParam(lua.P{Fn: state.NewFunction(lib.open), Protect: true}, lua.LString(lib.name)); err != nil {
			panic(fmt.Sprintf("opening Lua library %q: %v", lib.name, err))
		}
	}
	state.PreloadModule(lua.OsLibName, loadSafeOs)
	return state
}

func runHealthScript(object map[string]any, script string) (*Health, error) {
	state := newArgoState()
	defer state.Close()
	ctx, cancel := context.WithTimeout(context.Background(), ScriptTimeout)
	defer cancel()
	state.SetContext(ctx)
	state.SetGlobal("obj", toLua(state, object))
	if err := state.DoString(script); err != nil {
		var apiErr *lua.ApiError
		if errors.As(err, &apiErr) && apiErr.Type == lua.ApiErrorRun {
			apiErr.StackTrace = "" // as Argo CD does: the user sees the error, not the trace
		}
		return nil, err
	}
	return readHealth(state.Get(-1))
}

func readHealth(returned lua.LValue) (*Health, error) {
	switch value := returned.(type) {
	case *lua.LNilType:
		return &Health{}, nil
	case *lua.LTable:
		status, err := stringField(value, "status")
		if err != nil {
			return nil, err
		}
		message, err := stringField(value, "message")
		if err != nil {
			return nil, err
		}
		if !validHealth[status] {
			return &Health{Status: "Unknown", Message: "Lua returned an invalid health status"}, nil
		}
		return &Health{Status: status, Message: message}, nil
	default:
		return nil, fmt.Errorf("expect table output from Lua script, not %s", returned.Type())
	}
}

// stringField reads hs.status / hs.message; Argo CD decodes them through JSON into Go strings.
func stringField(table *lua.LTable, name string) (string, error) {
	switch value := table.RawGetString(name).(type) {
	case *lua.LNilType:
		return "", nil
	case lua.LString:
		return string(value), nil
	default:
		return "", fmt.Errorf("hs.%s is a %s, not a string", name, value.Type())
	}
}

// toLua converts a decoded JSON object the way Argo CD's decodeValue does.
func toLua(state *lua.LState, value any) lua.LValue {
	switch converted := value.(type) {
	case bool:
		return lua.LBool(converted)
	case string:
		return lua.LString(converted)
	case float64:
		return lua.LNumber(converted)
	case int64:
		return lua.LNumber(converted)
	case int:
		return lua.LNumber(converted)
	case []any:
		list := state.CreateTable(len(converted), 0)
		for _, item := range converted {
			list.Append(toLua(state, item))
		}
		return list
	case map[string]any:
		table := state.CreateTable(0, len(converted))
		for key, item := range converted {
			table.RawSetH(lua.LString(key), toLua(state, item))
		}
		return table
	default:
		return lua.LNil
	}
}
