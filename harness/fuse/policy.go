package fuse

import (
	"fmt"
	"sync"
)

// rules resolves the open policy of a path: the hook first, then the first
// matching rule, else no flags.
type rules struct {
	mu   sync.RWMutex
	list []OpenRule
	hook func(OpenInfo) (OpenPolicy, bool)
}

func (r *rules) set(list []OpenRule) error {
	for _, x := range list {
		if err := validateGlob(x.Glob); err != nil {
			return fmt.Errorf("open rule: %w", err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append([]OpenRule(nil), list...)
	return nil
}

func (r *rules) add(x OpenRule) error {
	if err := validateGlob(x.Glob); err != nil {
		return fmt.Errorf("open rule: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, x)
	return nil
}

func (r *rules) all() []OpenRule {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return append([]OpenRule(nil), r.list...)
}

func (r *rules) setHook(h func(OpenInfo) (OpenPolicy, bool)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hook = h
}

func (r *rules) resolve(info OpenInfo) OpenPolicy {
	r.mu.RLock()
	hook, list := r.hook, r.list
	r.mu.RUnlock()
	if hook != nil {
		if p, ok := hook(info); ok {
			return p
		}
	}
	for _, x := range list {
		if matchGlob(x.Glob, info.Path) {
			return x.OpenPolicy
		}
	}
	return OpenPolicy{}
}
