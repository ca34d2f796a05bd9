// Command health prints, for each Kubernetes object it reads, the two health verdicts tools act on:
// kstatus (sigs.k8s.io/cli-utils, what Flux and kubectl-wait style tooling read) and Argo CD's
// health from a Lua resource customization, run in gopher-lua set up as Argo CD sets it up.
//
//	health [-argocd-cm argocd-cm.yaml] [-script group_Kind=file.lua ...] [FILE ...]
//
// FILEs (or stdin) hold JSON or YAML objects, several documents or a List (`kubectl get -o json`).
// One JSON line per object goes to stdout.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

// Verdict is the output line for one object.
type Verdict struct {
	APIVersion string  `json:"apiVersion"`
	Kind       string  `json:"kind"`
	Namespace  string  `json:"namespace,omitempty"`
	Name       string  `json:"name"`
	KStatus    Health  `json:"kstatus"`
	ArgoCD     *Health `json:"argocd,omitempty"`
	LuaError   string  `json:"luaError,omitempty"`
}

type scriptFlags map[string]string

func (s scriptFlags) String() string { return fmt.Sprint(map[string]string(s)) }

func (s scriptFlags) Set(value string) error {
	key, path, found := strings.Cut(value, "=")
	if !found {
		return errors.New("want group_Kind=path/to/health.lua")
	}
	text, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s[key] = string(text)
	return nil
}

func main() {
	scripts := scriptFlags{}
	configMap := flag.String("argocd-cm", "", "argocd-cm ConfigMap whose resource.customizations.health.<group>_<Kind> keys hold the scripts")
	flag.Var(scripts, "script", "group_Kind=file.lua, a health script for one kind (repeatable; wins over -argocd-cm)")
	flag.Parse()
	if err := run(*configMap, scripts, flag.Args(), os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "health:", err)
		os.Exit(1)
	}
}

func run(configMap string, scripts scriptFlags, files []string, stdin io.Reader, stdout io.Writer) error {
	if configMap != "" {
		fromConfigMap, err := readConfigMapScripts(configMap)
		if err != nil {
			return err
		}
		for key, script := range fromConfigMap {
			if _, set := scripts[key]; !set {
				scripts[key] = script
			}
		}
	}
	objects, err := readAll(files, stdin)
	if err != nil {
		return err
	}
	encoder := json.NewEncoder(stdout)
	for _, obj := range objects {
		verdict, err := judge(obj, scripts)
		if err != nil {
			return err
		}
		if err := encoder.Encode(verdict); err != nil {
			return err
		}
	}
	return nil
}

func judge(obj *unstructured.Unstructured, scripts scriptFlags) (*Verdict, error) {
	computed, err := status.Compute(obj)
	if err != nil {
		return nil, fmt.Errorf("kstatus of %s %s: %w", obj.GetKind(), obj.GetName(), err)
	}
	verdict := &Verdict{
		APIVersion: obj.GetAPIVersion(),
		Kind:       obj.GetKind(),
		Namespace:  obj.GetNamespace(),
		Name:       obj.GetName(),
		KStatus:    Health{Status: computed.Status.String(), Message: computed.Message},
	}
	if script, found := scripts[configMapKey(obj)]; found {
		health, luaErr := ArgoHealth(obj, script)
		verdict.ArgoCD = health
		if luaErr != nil {
			verdict.LuaError = luaErr.Error()
		}
	}
	return verdict, nil
}

// configMapKey is Argo CD's key for a kind's customization: "<group>_<Kind>", or "<Kind>" for core.
func configMapKey(obj *unstructured.Unstructured) string {
	gvk := obj.GroupVersionKind()
	if gvk.Group == "" {
		return gvk.Kind
	}
	return gvk.Group + "_" + gvk.Kind
}

const healthKeyPrefix = "resource.customizations.health."

func readConfigMapScripts(path string) (map[string]string, error) {
	objects, err := readAll([]string{path}, nil)
	if err != nil {
		return nil, err
	}
	if len(objects) != 1 || objects[0].GetKind() != "ConfigMap" {
		return nil, fmt.Errorf("%s: want one ConfigMap", path)
	}
	data, _, err := unstructured.NestedStringMap(objects[0].Object, "data")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	scripts := map[string]string{}
	for key, script := range data {
		if kind, found := strings.CutPrefix(key, healthKeyPrefix); found {
			scripts[kind] = script
		}
	}
	return scripts, nil
}

func readAll(files []string, stdin io.Reader) ([]*unstructured.Unstructured, error) {
	if len(files) == 0 {
		files = []string{"-"}
	}
	var objects []*unstructured.Unstructured
	for _, path := range files {
		reader := stdin
		if path != "-" {
			file, err := os.Open(path)
			if err != nil {
				return nil, err
			}
			defer file.Close()
			reader = file
		}
		read, err := decodeStream(reader)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		objects = append(objects, read...)
	}
	return objects, nil
}

// decodeStream reads JSON or YAML documents; a List's items count as objects of their own.
func decodeStream(reader io.Reader) ([]*unstructured.Unstructured, error) {
	decoder := utilyaml.NewYAMLOrJSONDecoder(reader, 4096)
	var objects []*unstructured.Unstructured
	for {
		var document map[string]any
		if err := decoder.Decode(&document); errors.Is(err, io.EOF) {
			return objects, nil
		} else if err != nil {
			return nil, err
		}
		if document == nil {
			continue
		}
		obj, err := asUnstructured(document)
		if err != nil {
			return nil, err
		}
		if obj.IsList() {
			list, err := obj.ToList()
			if err != nil {
				return nil, err
			}
			for i := range list.Items {
				objects = append(objects, &list.Items[i])
			}
			continue
		}
		objects = append(objects, obj)
	}
}

// asUnstructured re-decodes through apimachinery so numbers are int64 where integral, as in the
// objects Argo CD and kstatus get from client-go.
func asUnstructured(document map[string]any) (*unstructured.Unstructured, error) {
	raw, err := json.Marshal(document)
	if err != nil {
		return nil, err
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(raw); err != nil {
		return nil, err
	}
	return obj, nil
}
