#include "chat/evaluator.h"

#include <cmath>
#include <limits>

#include "chat/filters.h"
#include "chat/methods.h"
#include "chat/python_text.h"
#include "chat/value_ops.h"
#include "hearth/error.h"

namespace hearth::chat {
namespace {

enum class Flow { normal, break_loop, continue_loop };

class Renderer {
 public:
  Renderer(const std::string& name, RenderBudget& budget, Dict variables)
      : name_(name), budget_(budget) {
    frames_.push_back(std::move(variables.entries));
  }

  std::string render(const Body& body) {
    exec(body);
    return std::move(out_);
  }

 private:
  using Frame = std::vector<std::pair<std::string, Value>>;

  // Bounds the evaluation's recursion (nested expressions, macros calling macros).
  class Deeper {
   public:
    explicit Deeper(Renderer& r) : r_(r) {
      if (++r_.depth_ > kMaxEvaluationDepth) {
        throw Fault("evaluation nested more than " + std::to_string(kMaxEvaluationDepth) + " deep");
      }
    }
    ~Deeper() { --r_.depth_; }

   private:
    Renderer& r_;
  };

  [[noreturn]] void fail(Position at, const std::string& message) const {
    throw Error(located(name_, at, message));
  }

  void emit(std::string_view text) {
    out_ += text;
    if (out_.size() > kMaxOutputBytes) {
      throw Fault("the rendering exceeds " + std::to_string(kMaxOutputBytes >> 20) + " MiB");
    }
  }

  Value lookup(const std::string& name) const {
    for (auto frame = frames_.rbegin(); frame != frames_.rend(); ++frame) {
      for (auto it = frame->rbegin(); it != frame->rend(); ++it) {
        if (it->first == name) return it->second;
      }
    }
    return Value::undefined("'" + name + "' is undefined");
  }

  void assign(const std::string& name, Value value) {
    Frame& frame = frames_.back();
    for (auto& entry : frame) {
      if (entry.first == name) {
        entry.second = std::move(value);
        return;
      }
    }
    frame.emplace_back(name, std::move(value));
  }

  // Statements.
  Flow exec(const Body& body) {
    for (const NodePtr& node : body) {
      const Flow flow = exec_node(*node);
      if (flow != Flow::normal) return flow;
    }
    return Flow::normal;
  }

  Flow exec_node(const Node& node) {
    try {
      Deeper deeper(*this);
      budget_.step();
      return exec_statement(node);
    } catch (const Fault& fault) {
      fail(node.at, fault.what());
    }
  }

  Flow exec_statement(const Node& node) {
    switch (node.kind) {
      case Node::Kind::text:
        emit(node.text);
        return Flow::normal;
      case Node::Kind::output:
        emit(to_display(eval(*node.expr)));
        return Flow::normal;
      case Node::Kind::if_chain:
        for (size_t i = 0; i < node.conditions.size(); ++i) {
          if (eval(*node.conditions[i]).truthy()) return exec(node.bodies[i]);
        }
        if (node.bodies.size() > node.conditions.size()) return exec(node.bodies.back());
        return Flow::normal;
      case Node::Kind::for_loop:
        exec_for(node);
        return Flow::normal;
      case Node::Kind::set:
        exec_set(node);
        return Flow::normal;
      case Node::Kind::macro:
        define_macro(node);
        return Flow::normal;
      case Node::Kind::break_loop:
        return Flow::break_loop;
      case Node::Kind::continue_loop:
        return Flow::continue_loop;
      case Node::Kind::scope:
        return exec(node.bodies[0]);
    }
    return Flow::normal;
  }

  void bind_targets(const std::vector<std::string>& targets, const Value& value) {
    if (targets.size() == 1) {
      assign(targets[0], value);
      return;
    }
    std::vector<Value> items = iterate(value);
    if (items.size() != targets.size()) {
      throw Fault(std::string(items.size() > targets.size() ? "too many" : "not enough") +
                  " values to unpack (expected " + std::to_string(targets.size()) + ", got " +
                  std::to_string(items.size()) + ")");
    }
    for (size_t i = 0; i < targets.size(); ++i) assign(targets[i], items[i]);
  }

  void exec_for(const Node& node) {
    std::vector<Value> items = iterate(eval(*node.expr));
    if (node.filter) {
      std::vector<Value> kept;
      for (Value& item : items) {
        budget_.step();
        frames_.emplace_back();
        bind_targets(node.targets, item);
        const bool keep = eval(*node.filter).truthy();
        frames_.pop_back();
        if (keep) kept.push_back(std::move(item));
      }
      items = std::move(kept);
    }
    const int64_t length = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < length; ++i) {
      budget_.step();
      frames_.emplace_back();
      bind_targets(node.targets, items[i]);
      assign("loop", loop_value(items, i));
      const Flow flow = exec(node.bodies[0]);
      frames_.pop_back();
      if (flow == Flow::break_loop) break;
    }
    if (length == 0 && node.bodies.size() > 1) {
      frames_.emplace_back();
      exec(node.bodies[1]);
      frames_.pop_back();
    }
  }

  static Value loop_value(const std::vector<Value>& items, int64_t i) {
    const int64_t length = static_cast<int64_t>(items.size());
    Dict loop;
    loop.entries = {
        {"index", Value(i + 1)},
        {"index0", Value(i)},
        {"revindex", Value(length - i)},
        {"revindex0", Value(length - i - 1)},
        {"first", Value(i == 0)},
        {"last", Value(i == length - 1)},
        {"length", Value(length)},
        {"depth", Value(1)},
        {"depth0", Value(0)},
        {"previtem", i > 0 ? items[i - 1] : Value::undefined("there is no previous item")},
        {"nextitem", i + 1 < length ? items[i + 1] : Value::undefined("there is no next item")},
    };
    auto cycle = std::make_shared<Callable>();
    cycle->name = "loop.cycle";
    cycle->call = [i](const Arguments& args, RenderBudget&) -> Value {
      if (args.positional.empty()) throw Fault("loop.cycle() needs at least one value");
      return args.positional[static_cast<size_t>(i) % args.positional.size()];
    };
    loop.entries.emplace_back("cycle", Value(Value::CallablePtr(std::move(cycle))));
    return Value::dict(std::move(loop));
  }

  void exec_set(const Node& node) {
    Value value;
    if (node.expr) {
      value = eval(*node.expr);
    } else {
      std::string saved = std::move(out_);
      out_.clear();
      exec(node.bodies[0]);
      std::swap(saved, out_);
      budget_.charge_bytes(saved.size());
      value = Value(std::move(saved));
    }
    if (node.attribute.empty()) {
      bind_targets(node.targets, value);
      return;
    }
    const Value target = lookup(node.targets[0]);
    if (!target.is_namespace()) {
      throw Fault("cannot assign attribute '" + node.attribute + "' on '" + node.targets[0] +
                  "', which is not a namespace()");
    }
    if (value.holds_namespace()) throw Fault("a namespace() cannot hold a namespace()");
    Dict& attributes = target.as_namespace().attributes;
    for (auto& entry : attributes.entries) {
      if (entry.first == node.attribute) {
        entry.second = std::move(value);
        return;
      }
    }
    attributes.entries.emplace_back(node.attribute, std::move(value));
  }

  void define_macro(const Node& node) {
    auto macro = std::make_shared<Callable>();
    macro->name = node.text;
    const Node* definition = &node;
    macro->call = [this, definition](const Arguments& args, RenderBudget&) {
      return call_macro(*definition, args);
    };
    assign(node.text, Value(Value::CallablePtr(std::move(macro))));
  }

  Value call_macro(const Node& node, const Arguments& args) {
    if (macro_depth_ >= kMaxMacroCallDepth) {
      throw Fault("macros call one another more than " + std::to_string(kMaxMacroCallDepth) +
                  " deep");
    }
    if (args.positional.size() > node.targets.size()) {
      throw Fault("macro '" + node.text + "' takes " + std::to_string(node.targets.size()) +
                  " arguments, given " + std::to_string(args.positional.size()));
    }
    for (const auto& [key, value] : args.keyword) {
      bool known = false;
      for (const std::string& parameter : node.targets) known = known || parameter == key;
      if (!known) throw Fault("macro '" + node.text + "' has no parameter '" + key + "'");
    }
    // A macro sees the outermost scope and its own parameters, not its caller's variables.
    std::vector<Frame> caller_frames(std::make_move_iterator(frames_.begin() + 1),
                                     std::make_move_iterator(frames_.end()));
    frames_.resize(1);
    frames_.emplace_back();
    std::string caller_output = std::move(out_);
    out_.clear();
    ++macro_depth_;
    const auto restore = [&] {
      --macro_depth_;
      frames_.resize(1);
      for (Frame& frame : caller_frames) frames_.push_back(std::move(frame));
      std::swap(out_, caller_output);
    };
    try {
      for (size_t i = 0; i < node.targets.size(); ++i) {
        const std::string& parameter = node.targets[i];
        Value value = Value::undefined("parameter '" + parameter + "' was not provided");
        if (i < args.positional.size()) {
          value = args.positional[i];
        } else if (auto it = std::find_if(args.keyword.begin(), args.keyword.end(),
                                          [&](const auto& kw) { return kw.first == parameter; });
                   it != args.keyword.end()) {
          value = it->second;
        } else if (node.defaults[i]) {
          value = eval(*node.defaults[i]);
        }
        assign(parameter, std::move(value));
      }
      exec(node.bodies[0]);
    } catch (...) {
      restore();
      throw;
    }
    restore();
    budget_.charge_bytes(caller_output.size());
    return Value(std::move(caller_output));
  }

  // Expressions.
  Value eval(const Expr& e) {
    try {
      Deeper deeper(*this);
      budget_.step();
      return eval_expression(e);
    } catch (const Fault& fault) {
      fail(e.at, fault.what());
    }
  }

  Arguments eval_arguments(const Expr& e, size_t first) {
    Arguments args;
    for (size_t i = first; i < e.items.size(); ++i) args.positional.push_back(eval(*e.items[i]));
    for (const auto& [key, value] : e.keywords) args.keyword.emplace_back(key, eval(*value));
    return args;
  }

  Value eval_expression(const Expr& e) {
    switch (e.kind) {
      case Expr::Kind::literal:
        return e.value;
      case Expr::Kind::name:
        return lookup(e.name);
      case Expr::Kind::list:
      case Expr::Kind::tuple: {
        std::vector<Value> items;
        for (const ExprPtr& item : e.items) items.push_back(eval(*item));
        budget_.charge_bytes(items.size() * sizeof(Value));
        return Value::list(std::move(items), e.kind == Expr::Kind::tuple);
      }
      case Expr::Kind::dict: {
        Dict dict;
        for (size_t i = 0; i + 1 < e.items.size(); i += 2) {
          const Value key = eval(*e.items[i]);
          if (!key.is_string())
            throw Fault("dict keys must be strings, not '" + key.type_name() + "'");
          Value value = eval(*e.items[i + 1]);
          bool replaced = false;
          for (auto& entry : dict.entries) {
            if (entry.first == key.as_string()) {
              entry.second = value;
              replaced = true;
            }
          }
          if (!replaced) dict.entries.emplace_back(key.as_string(), std::move(value));
        }
        budget_.charge_bytes(dict.entries.size() * sizeof(Value));
        return Value::dict(std::move(dict));
      }
      case Expr::Kind::attribute:
        return get_attribute(eval(*e.items[0]), e.name);
      case Expr::Kind::subscript:
        return get_item(eval(*e.items[0]), eval(*e.items[1]));
      case Expr::Kind::slice: {
        const Value target = eval(*e.items[0]);
        const Value start = e.items[1] ? eval(*e.items[1]) : Value::none();
        const Value stop = e.items[2] ? eval(*e.items[2]) : Value::none();
        const Value step = e.items[3] ? eval(*e.items[3]) : Value::none();
        return slice_value(target, start, stop, step, budget_);
      }
      case Expr::Kind::call: {
        const Value callee = eval(*e.items[0]);
        require_defined(callee);
        if (!callee.is_callable())
          throw Fault("'" + callee.type_name() + "' object is not callable");
        const Arguments args = eval_arguments(e, 1);
        return callee.as_callable().call(args, budget_);
      }
      case Expr::Kind::filter: {
        const Value input = eval(*e.items[0]);
        return apply_filter(e.name, input, eval_arguments(e, 1), budget_);
      }
      case Expr::Kind::test: {
        const Value input = eval(*e.items[0]);
        return Value(apply_test(e.name, input, eval_arguments(e, 1), budget_) != e.negated);
      }
      case Expr::Kind::negate:
        return negate(eval(*e.items[0]));
      case Expr::Kind::plus: {
        const Value v = eval(*e.items[0]);
        require_defined(v);
        if (!v.is_number()) throw Fault("bad operand type for unary +: '" + v.type_name() + "'");
        return v.is_bool() ? Value(int64_t{v.as_bool()}) : v;
      }
      case Expr::Kind::logical_not:
        return Value(!eval(*e.items[0]).truthy());
      case Expr::Kind::binary: {
        if (e.name == "and" || e.name == "or") {
          Value left = eval(*e.items[0]);
          if (left.truthy() == (e.name == "or")) return left;
          return eval(*e.items[1]);
        }
        const Value left = eval(*e.items[0]);
        const Value right = eval(*e.items[1]);
        return binary_operation(e.name, left, right, budget_);
      }
      case Expr::Kind::compare: {
        Value left = eval(*e.items[0]);
        for (size_t i = 0; i < e.ops.size(); ++i) {
          Value right = eval(*e.items[i + 1]);
          if (!compare(e.ops[i], left, right)) return Value(false);
          left = std::move(right);
        }
        return Value(true);
      }
      case Expr::Kind::ternary:
        if (eval(*e.items[1]).truthy()) return eval(*e.items[0]);
        if (e.items[2]) return eval(*e.items[2]);
        return Value::undefined("the inline if-expression evaluated to false and has no else");
    }
    throw Fault("unknown expression");
  }

  const std::string& name_;
  RenderBudget& budget_;
  std::vector<Frame> frames_;
  std::string out_;
  int depth_ = 0;
  int macro_depth_ = 0;
};

}  // namespace

std::string render_template(const Body& body, const std::string& name, Dict variables,
                            RenderBudget& budget) {
  try {
    return Renderer(name, budget, std::move(variables)).render(body);
  } catch (const Fault& fault) {
    throw Error(name + ": " + fault.what());
  }
}

}  // namespace hearth::chat
