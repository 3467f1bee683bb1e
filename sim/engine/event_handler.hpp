#pragma once
// EventHandler: a move-only, type-erased `void()` callable with 48 bytes of inline storage.
//
// Callables that fit (size <= 48, alignment <= 8, nothrow move) live inline: no allocation. Larger
// ones (or ones whose move may throw) are moved to the heap once, at construction; moving the
// EventHandler then moves a pointer. Callables that are trivially copyable and destructible (lambdas
// capturing pointers and integers, the common case) are relocated with a plain byte copy; others go
// through their move constructor and destructor. Unlike std::function, move-only captures
// (std::unique_ptr, ...) are accepted. sizeof(EventHandler) == 56.
//
// An EventHandler built from nullptr, from an empty std::function or from a null function pointer is
// empty (operator bool is false). Invoking an empty handler is undefined.
#include <cstddef>
#include <cstring>
#include <functional>
#include <new>
#include <type_traits>
#include <utility>

namespace epsim {

class EventHandler {
 public:
  /// Bytes of inline storage.
  static constexpr std::size_t kInlineSize = 48;
  static constexpr std::size_t kInlineAlign = alignof(void*);

  /// True when a callable of type F is stored inline (no allocation).
  template <class F>
  static constexpr bool stored_inline = sizeof(F) <= kInlineSize && alignof(F) <= kInlineAlign &&
                                        std::is_nothrow_move_constructible_v<F>;

  EventHandler() noexcept = default;
  EventHandler(std::nullptr_t) noexcept {}  // NOLINT(google-explicit-constructor)

  /// Wrap any callable invocable as f() (the result, if any, is discarded).
  template <class F, class D = std::decay_t<F>,
            class = std::enable_if_t<!std::is_same_v<D, EventHandler> && std::is_invocable_v<D&>>>
  EventHandler(F&& f) {  // NOLINT(google-explicit-constructor)
    if constexpr (std::is_pointer_v<D> || std::is_member_pointer_v<D> || is_std_function<D>::value) {
      if (!f) return;  // empty stays empty
    }
    if constexpr (stored_inline<D>) {
      ::new (static_cast<void*>(buf_)) D(std::forward<F>(f));
      ops_ = &kInlineOps<D>;
    } else {
      D* p = new D(std::forward<F>(f));
      std::memcpy(buf_, &p, sizeof p);
      ops_ = &kHeapOps<D>;
    }
  }

  EventHandler(EventHandler&& o) noexcept { take(o); }
  EventHandler& operator=(EventHandler&& o) noexcept {
    if (this != &o) {
      reset();
      take(o);
    }
    return *this;
  }
  EventHandler& operator=(std::nullptr_t) noexcept {
    reset();
    return *this;
  }
  EventHandler(const EventHandler&) = delete;
  EventHandler& operator=(const EventHandler&) = delete;
  ~EventHandler() { reset(); }

  /// Run the callable. Precondition: not empty.
  void operator()() { ops_->invoke(buf_); }
  explicit operator bool() const noexcept { return ops_ != nullptr; }
  friend bool operator==(const EventHandler& h, std::nullptr_t) noexcept { return !h; }

  /// Destroy the held callable (releasing its captures); the handler becomes empty.
  void reset() noexcept {
    if (ops_ != nullptr) {
      if (ops_->destroy != nullptr) ops_->destroy(buf_);
      ops_ = nullptr;
    }
  }

 private:
  struct Ops {
    void (*invoke)(void* buf);
    /// Move-construct into dst from src and destroy src; nullptr means "copy the bytes".
    void (*relocate)(void* dst, void* src) noexcept;
    /// Destroy; nullptr means trivially destructible.
    void (*destroy)(void* buf) noexcept;
  };

  template <class T>
  struct is_std_function : std::false_type {};
  template <class Sig>
  struct is_std_function<std::function<Sig>> : std::true_type {};

  template <class D>
  static constexpr bool kTrivial = std::is_trivially_copyable_v<D> && std::is_trivially_destructible_v<D>;

  template <class D>
  static constexpr Ops kInlineOps{
      [](void* b) { std::invoke(*std::launder(static_cast<D*>(b))); },
      kTrivial<D> ? nullptr : +[](void* dst, void* src) noexcept {
        D* s = std::launder(static_cast<D*>(src));
        ::new (dst) D(std::move(*s));
        s->~D();
      },
      std::is_trivially_destructible_v<D> ? nullptr
                                          : +[](void* b) noexcept { std::launder(static_cast<D*>(b))->~D(); }};

  template <class D>
  static D* heap_ptr(void* b) {
    D* p = nullptr;
    std::memcpy(&p, b, sizeof p);
    return p;
  }
  template <class D>
  static constexpr Ops kHeapOps{[](void* b) { std::invoke(*heap_ptr<D>(b)); },
                                nullptr,  // the pointer is copied
                                +[](void* b) noexcept { delete heap_ptr<D>(b); }};

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // copying the unused tail bytes is harmless
  void take(EventHandler& o) noexcept {
    ops_ = o.ops_;
    if (ops_ == nullptr) return;
    if (ops_->relocate == nullptr)
      std::memcpy(buf_, o.buf_, kInlineSize);
    else
      ops_->relocate(buf_, o.buf_);
    o.ops_ = nullptr;
  }
#pragma GCC diagnostic pop

  alignas(kInlineAlign) unsigned char buf_[kInlineSize];
  const Ops* ops_ = nullptr;
};

}  // namespace epsim
