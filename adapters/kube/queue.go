package kube

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
)

// Key names one object that a handler must look at again. Handlers read the object's current state
// from the informer cache, so a key stands for any number of events that happened to it.
type Key struct {
	Kind      string
	Namespace string
	Name      string
}

func (k Key) String() string {
	if k.Namespace == "" {
		return k.Kind + "/" + k.Name
	}
	return k.Kind + "/" + k.Namespace + "/" + k.Name
}

// Handler is one link of a queue's chain. It must be idempotent: when a later link fails, the whole
// chain runs again for the key after a backoff.
type Handler func(ctx context.Context, key Key) error

// markerKind keys the queue's "everything before me is done" marker; no API kind starts with "#".
const markerKind = "#marker"

// queue turns informer events into keys on a rate-limited workqueue and runs them through a chain of
// handlers with one worker, so handlers never race each other and run in the order keys were queued.
type queue struct {
	name     string
	q        workqueue.TypedRateLimitingInterface[Key]
	handlers []Handler
	log      *zap.Logger

	mu      sync.Mutex
	markers map[string]func()
}

func newQueue(name string, clk clock.WithTicker, log *zap.Logger) *queue {
	// Per-key exponential backoff for failures (a status write refused by a conflict, the API server
	// down) and an overall bucket so a storm of failures cannot hammer the API server.
	limiter := workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemExponentialFailureRateLimiter[Key](50*time.Millisecond, 30*time.Second),
		&workqueue.TypedBucketRateLimiter[Key]{Limiter: rate.NewLimiter(rate.Limit(20), 200)},
	)
	return &queue{
		name: name,
		q: workqueue.NewTypedRateLimitingQueueWithConfig(limiter,
			workqueue.TypedRateLimitingQueueConfig[Key]{Name: name, Clock: clk}),
		log:     log,
		markers: map[string]func(){},
	}
}

// eventHandler returns informer callbacks that queue the key of each added, changed or deleted object
// of kind. An update that does not change the resource version (a resync, or a re-list after the
// watch broke) carries no news and is dropped here.
func (q *queue) eventHandler(kind string) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { q.addObject(kind, obj) },
		UpdateFunc: func(oldObj, newObj any) {
			o, okOld := oldObj.(metav1.Object)
			n, okNew := newObj.(metav1.Object)
			if okOld && okNew && o.GetResourceVersion() == n.GetResourceVersion() {
				return
			}
			q.addObject(kind, newObj)
		},
		DeleteFunc: func(obj any) { q.addObject(kind, obj) },
	}
}

func (q *queue) addObject(kind string, obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	m, ok := obj.(metav1.Object)
	if !ok {
		q.log.Warn("informer delivered an object without metadata", zap.String("kind", kind))
		return
	}
	q.q.Add(Key{Kind: kind, Namespace: m.GetNamespace(), Name: m.GetName()})
}

// add queues a key directly (a re-check that no event asked for).
func (q *queue) add(k Key) { q.q.Add(k) }

// afterQueued runs fn on the worker once every key queued before this call has been handled (or has
// failed once and been scheduled for a retry). The queue is FIFO with one worker, so a marker queued
// behind the initial list is reached only when the initial list is through the chain.
func (q *queue) afterQueued(id string, fn func()) {
	q.mu.Lock()
	q.markers[id] = fn
	q.mu.Unlock()
	q.q.Add(Key{Kind: markerKind, Name: id})
}

// run works the queue until ctx ends.
func (q *queue) run(ctx context.Context) {
	stop := context.AfterFunc(ctx, q.q.ShutDown)
	defer stop()
	for q.next(ctx) {
	}
}

func (q *queue) next(ctx context.Context) bool {
	key, shutdown := q.q.Get()
	if shutdown {
		return false
	}
	defer q.q.Done(key)
	if key.Kind == markerKind {
		q.mu.Lock()
		fn := q.markers[key.Name]
		delete(q.markers, key.Name)
		q.mu.Unlock()
		if fn != nil {
			fn()
		}
		return true
	}
	for _, h := range q.handlers {
		if err := q.call(ctx, h, key); err != nil {
			if ctx.Err() != nil {
				return true // shutting down: the error is the cancellation
			}
			q.log.Warn("handling failed; will retry", zap.String("queue", q.name), zap.Stringer("key", key),
				zap.Int("retries", q.q.NumRequeues(key)), zap.Error(err))
			q.q.AddRateLimited(key)
			return true
		}
	}
	q.q.Forget(key)
	return true
}

// call runs one handler. A panic in it (a bug: an input nothing foresaw) is logged with the object
// and the stack and becomes this key's error, retried with backoff like any other, instead of ending
// the worker and with it the process: one object must not stop every other from being handled.
func (q *queue) call(ctx context.Context, h Handler, key Key) (err error) {
	defer func() {
		if r := recover(); r != nil {
			q.log.Error("handler panicked", zap.String("queue", q.name), zap.String("kind", key.Kind),
				zap.String("namespace", key.Namespace), zap.String("name", key.Name),
				zap.String("panic", fmt.Sprint(r)), zap.ByteString("stack", debug.Stack()))
			err = fmt.Errorf("handling %s panicked: %v", key, r)
		}
	}()
	return h(ctx, key)
}
