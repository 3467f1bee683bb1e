#pragma once
// A thread-safe map from a key to a value computed once and shared: the sweep parses each model,
// loads file and topology once and builds each route table once, whatever the number of points and
// threads that ask for them.
#include <atomic>
#include <cstddef>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace epsim {

/// get() returns the value of `key`, computing it with `make` on the first request. Concurrent
/// requests for the same key wait for that one computation (other keys proceed in parallel); an
/// exception thrown by `make` is rethrown to every request of that key. Values are immutable and
/// live as long as the cache or the last shared_ptr to them. Lookups are O(log keys).
template <class Value>
class OnceCache {
 public:
  using Ptr = std::shared_ptr<const Value>;

  Ptr get(const std::string& key, const std::function<Value()>& make) {
    std::shared_future<Ptr> future;
    std::promise<Ptr> promise;
    bool owner = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = entries_.find(key);
      if (it == entries_.end()) {
        future = promise.get_future().share();
        entries_.emplace(key, future);
        owner = true;
      } else {
        future = it->second;
      }
    }
    if (owner) {
      ++computed_;
      try {
        promise.set_value(std::make_shared<const Value>(make()));
      } catch (...) {
        promise.set_exception(std::current_exception());
      }
    }
    return future.get();
  }

  /// Number of values computed so far (calls of `make`).
  std::size_t computed() const { return computed_.load(); }

 private:
  std::mutex mutex_;
  std::map<std::string, std::shared_future<Ptr>> entries_;
  std::atomic<std::size_t> computed_{0};
};

}  // namespace epsim
