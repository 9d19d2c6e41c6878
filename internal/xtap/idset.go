package xtap

import (
	"math/bits"
	"slices"
	"strings"
)

// idSet is a compiled list of object ids (users, groups or applications of
// one target list). It is a sorted array of keys beside the ids laid end to
// end in one string, rather than a map: a decision looks up some fifty group
// ids in a list it has not touched before (one of 10,000 partners'), and a
// few contiguous cache lines searched in order cost far less than fifty map
// probes scattered over the heap; and two pointers per list, instead of one
// per id, keep the collector's marking of 10,000 partners short. A key match
// is confirmed by comparing the ids, so keys need not be unique.
type idSet struct {
	// bloom has bloomBit(k) set for every key: most ids looked up are not
	// in the list, and one predictable test turns them away, where a
	// binary search over keys the branch predictor has never seen would
	// mispredict at nearly every step.
	bloom [4]uint64
	keys  []uint64 // ascending
	ids   string   // the ids, guidLen bytes each, lower-case, in keys' order
}

// bloomBit spreads a key over the filter's 256 bits.
func bloomBit(k uint64) (word, bit uint64) {
	h := (k * 0x9e3779b97f4a7c15) >> 56
	return h >> 6, 1 << (h & 63)
}

// guidLen is the length of a GUID in its 8-4-4-4-12 form; compiled lists
// hold only ids of that form (targets are validated as GUIDs).
const guidLen = 36

func newIDSet(ids []string) idSet {
	type entry struct {
		k  uint64
		id string
	}
	es := make([]entry, 0, len(ids))
	for _, id := range ids {
		if len(id) == guidLen {
			es = append(es, entry{idKey(id), lower(id)})
		}
	}
	slices.SortFunc(es, func(a, b entry) int {
		if a.k != b.k {
			if a.k < b.k {
				return -1
			}
			return 1
		}
		return strings.Compare(a.id, b.id)
	})
	es = slices.CompactFunc(es, func(a, b entry) bool { return a.id == b.id })
	if len(es) == 0 {
		return idSet{}
	}
	s := idSet{keys: make([]uint64, len(es))}
	var all strings.Builder
	all.Grow(len(es) * guidLen)
	for i, e := range es {
		s.keys[i] = e.k
		all.WriteString(e.id)
		w, b := bloomBit(e.k)
		s.bloom[w] |= b
	}
	s.ids = all.String()
	return s
}

func (s *idSet) empty() bool { return len(s.keys) == 0 }

// has reports whether id, whose idKey is k, is in the set.
func (s *idSet) has(k uint64, id string) bool {
	if len(id) != guidLen {
		return false
	}
	if w, b := bloomBit(k); s.bloom[w]&b == 0 {
		return false
	}
	i, found := slices.BinarySearch(s.keys, k)
	if !found {
		return false
	}
	for ; i < len(s.keys) && s.keys[i] == k; i++ {
		if strings.EqualFold(s.ids[i*guidLen:(i+1)*guidLen], id) {
			return true
		}
	}
	return false
}

// find returns the index of the first of ids (with keys ks) in the set, or
// -1.
func (s *idSet) find(ks []uint64, ids []string) int {
	for i, k := range ks {
		if s.has(k, ids[i]) {
			return i
		}
	}
	return -1
}

// idKey is the search key of an id: its first eight and last eight bytes,
// ASCII case folded for the characters of a GUID (OR-ing 0x20 maps A–F to
// a–f and leaves digits and '-' alone), so eight bytes fold at once without
// a branch. It is not a hash and needs none: the set only sorts and
// searches by it, and has confirms every match by comparing the whole ids
// case-insensitively, so two ids sharing a key (or characters the fold
// merges, such as '@' and '`') cost one more comparison, never a wrong
// answer. For random GUIDs the key holds 64 random bits.
func idKey(s string) uint64 {
	const fold = 0x2020202020202020
	if len(s) < 16 {
		var k uint64
		for i := 0; i < len(s); i++ {
			k = k<<8 | uint64(s[i]|0x20)
		}
		return k
	}
	// Rotating by a nibble puts the last bytes' hex digits over the first
	// bytes' fixed high nibbles, so the key keeps both halves' randomness.
	return (le64(s[:8]) | fold) ^ bits.RotateLeft64(le64(s[len(s)-8:])|fold, 4)
}

// le64 reads eight bytes of s as a little-endian number (the compiler makes
// this one load).
func le64(b string) uint64 {
	_ = b[7]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// guid is a GUID's text case-folded into five words, to compare ids
// without following a pointer (the zero value matches no GUID).
type guid [5]uint64

// guidOf folds a 36-character id; other lengths give the zero guid.
func guidOf(s string) guid {
	const fold = 0x2020202020202020
	if len(s) != guidLen {
		return guid{}
	}
	return guid{le64(s[0:8]) | fold, le64(s[8:16]) | fold, le64(s[16:24]) | fold, le64(s[24:32]) | fold,
		uint64(s[32]|0x20) | uint64(s[33]|0x20)<<8 | uint64(s[34]|0x20)<<16 | uint64(s[35]|0x20)<<24 | 1<<63}
}
