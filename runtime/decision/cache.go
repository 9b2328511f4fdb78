package decision

import (
	"hash/maphash"
	"strconv"
	"strings"
	"sync"

	"github.com/mandatehq/mandate/model"
)

const cacheShards = 16

// cache is a bounded, sharded map of decisions. When a shard is full, a new
// entry evicts an arbitrary one (Go's map order is random): LRU-ish at the
// cost of one map delete, with no list to maintain on hits.
type cache struct {
	seed     maphash.Seed
	perShard int
	shards   [cacheShards]shard
}

type shard struct {
	mu sync.RWMutex
	m  map[string]model.Decision
}

// newCache returns nil (no caching) when size is negative.
func newCache(size int) *cache {
	if size < 0 {
		return nil
	}
	if size == 0 {
		size = DefaultCacheSize
	}
	c := &cache{seed: maphash.MakeSeed(), perShard: max(1, size/cacheShards)}
	for i := range c.shards {
		c.shards[i].m = make(map[string]model.Decision)
	}
	return c
}

func (c *cache) shard(key string) *shard {
	return &c.shards[maphash.String(c.seed, key)%cacheShards]
}

func (c *cache) get(key string) (model.Decision, bool) {
	if c == nil {
		return model.Decision{}, false
	}
	s := c.shard(key)
	s.mu.RLock()
	d, ok := s.m[key]
	s.mu.RUnlock()
	return d, ok
}

func (c *cache) put(key string, d model.Decision) {
	if c == nil {
		return
	}
	s := c.shard(key)
	s.mu.Lock()
	if len(s.m) >= c.perShard {
		for k := range s.m {
			delete(s.m, k)
			break
		}
	}
	s.m[key] = d
	s.mu.Unlock()
}

// cacheKey encodes every field of in that the policy reads, with the review
// bucket in place of the clock. Fields are length-prefixed so that no two
// inputs share a key.
func cacheKey(in *model.Input, bucket int) string {
	var b strings.Builder
	b.Grow(128)
	field := func(s string) {
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
	}
	field(in.Kind)
	field(in.Agent)
	field(in.Connection)
	field(strconv.Itoa(bucket))
	field(in.Command)
	if in.Shell {
		b.WriteByte('S')
	}
	b.WriteByte('|')
	for _, a := range in.Approvals {
		field(a.ID)
		field(a.Role)
	}
	b.WriteByte('|')
	if s := in.Statement; s != nil {
		b.WriteByte('T')
		field(s.Fingerprint)
		field(s.Tag)
		field(s.Forbidden)
		if s.Always {
			b.WriteByte('A')
		}
		b.WriteByte('|')
		for _, a := range s.Accesses {
			field(a.Class)
			field(a.Table)
		}
		b.WriteByte('|')
		for _, f := range s.Functions {
			field(f)
		}
		b.WriteByte('|')
		for _, f := range s.FilterColumns {
			field(f)
		}
	}
	return b.String()
}
