package translate

import (
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
)

// validateDeep runs a message's ValidateAll and that of every message packed in an Any below it
// (filter configs, transport sockets), which ValidateAll leaves alone but Envoy checks when it
// builds the filter.
func validateDeep(m proto.Message) error {
	if v, ok := m.(validated); ok {
		if err := v.ValidateAll(); err != nil {
			return err
		}
	}
	return validateAnys(m.ProtoReflect())
}

func validateAnys(m protoreflect.Message) error {
	if a, ok := m.Interface().(*anypb.Any); ok {
		inner, err := a.UnmarshalNew()
		if err != nil {
			return fmt.Errorf("%s: %w", a.GetTypeUrl(), err)
		}
		if err := validateDeep(inner); err != nil {
			return fmt.Errorf("%s: %w", a.GetTypeUrl(), err)
		}
		return nil
	}
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap():
			if fd.MapValue().Message() == nil {
				return true
			}
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				err = validateAnys(mv.Message())
				return err == nil
			})
		case fd.Message() == nil:
		case fd.IsList():
			for i := 0; i < v.List().Len() && err == nil; i++ {
				err = validateAnys(v.List().Get(i).Message())
			}
		default:
			err = validateAnys(v.Message())
		}
		return err == nil
	})
	return err
}
